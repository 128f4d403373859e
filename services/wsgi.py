"""WSGI entry point for gunicorn: ``gunicorn 'wirefeed.services.wsgi:build()'``.

The one place the web process reads its settings from the environment.
"""

from __future__ import annotations

from flask import Flask

from wirefeed.config.settings import Settings
from wirefeed.services.app import create_app


def build() -> Flask:
    return create_app(Settings.from_env())

"""WSGI entry point for gunicorn: ``gunicorn 'services.wsgi:build()'``.

The one place the web process reads its settings from the environment.
"""

from __future__ import annotations

from flask import Flask

from config.settings import Settings
from services.app import create_app


def build() -> Flask:
    return create_app(Settings.from_env())

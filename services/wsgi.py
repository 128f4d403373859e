"""WSGI entry point for gunicorn: ``gunicorn 'wirefeed.services.wsgi:build()'``.

The one place the web process reads its settings from the environment.
"""

from __future__ import annotations

from flask import Flask

from wirefeed.config.logs import setup_logging
from wirefeed.config.settings import Settings
from wirefeed.services.app import create_app


def build() -> Flask:
    settings = Settings.from_env()
    setup_logging(settings.log_format, role="web")
    return create_app(settings)

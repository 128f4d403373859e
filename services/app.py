"""The Flask application factory: ``create_app(settings)``; a blueprint per feature.

Nothing reads configuration at import time: the caller builds :class:`wirefeed.config.Settings` (usually
``Settings.from_env()``) and passes it in.
"""

from __future__ import annotations

import redis
from flask import Flask, Response

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import StoreUnavailable
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.store.connection import connect
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.services import api, feeds_bp, health, newsroom_api, pages, websub_bp
from wirefeed.services.fast_feeds import FastFeeds
from wirefeed.services.security import HTML_SECURITY_HEADERS, SECURITY_HEADERS
from wirefeed.services.state import AppState


def create_app(settings: Settings, client: redis.Redis | None = None) -> Flask:
    if client is None:
        if settings.redis_url is None:
            raise ValueError("create_app needs settings.redis_url (wirefeed up/serve set it)")
        client = connect(settings.redis_url)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_dump_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["wirefeed"] = AppState(
        settings, client, StoryStore(client), Taxonomy.load(settings.topics_path)
    )
    for bp in (feeds_bp.bp, pages.bp, api.bp, newsroom_api.bp, health.bp, websub_bp.bp):
        app.register_blueprint(bp)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(StoreUnavailable)
    def _redis_down(exc: Exception) -> Response:
        return Response(
            "storage unavailable, retry later\n",
            503,
            {"Retry-After": str(defaults.RETRY_AFTER_SECONDS)},
            mimetype="text/plain",
        )

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            resp.headers.setdefault(name, value)
        if resp.mimetype == "text/html":
            for name, value in HTML_SECURITY_HEADERS:
                resp.headers.setdefault(name, value)
        return resp

    # Plain feed requests are answered before Flask routing (see services/fast_feeds.py);
    # everything else, and anything the fast path cannot answer itself, reaches Flask unchanged.
    app.wsgi_app = FastFeeds(app.wsgi_app, app.extensions["wirefeed"])  # type: ignore[method-assign]
    return app

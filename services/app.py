"""The Flask application factory: ``create_app(settings)``; a blueprint per feature.

Nothing reads configuration at import time: the caller builds :class:`wirefeed.config.Settings` (usually
``Settings.from_env()``) and passes it in.
"""

from __future__ import annotations

import redis
from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import StoreUnavailable
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.render import cdn
from wirefeed.feeds.store.connection import client_for
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.services import (
    api,
    feeds_bp,
    health,
    identity_api,
    metrics,
    newsroom_api,
    ninjs_bp,
    pages,
    websub_bp,
)
from wirefeed.services.fast_feeds import FastFeeds
from wirefeed.services.security import HTML_SECURITY_HEADERS, SECURITY_HEADERS
from wirefeed.services.state import AppState


def create_app(settings: Settings, client: redis.Redis | None = None) -> Flask:
    if client is None:
        client = client_for(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_dump_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["wirefeed"] = AppState(
        settings,
        client,
        StoryStore(client, near_window_hours=settings.near_window_hours),
        Taxonomy.load(settings.topics_path),
    )
    web_metrics = app.extensions["wirefeed-metrics"] = metrics.WebMetrics(client)
    blueprints = (feeds_bp, ninjs_bp, pages, api, identity_api, newsroom_api, health, websub_bp, metrics)
    for bp in (module.bp for module in blueprints):
        app.register_blueprint(bp)

    @app.errorhandler(404)
    def _not_found(exc: NotFound) -> Response | tuple[str, int]:
        if request.path.startswith("/api/"):
            return Response('{"error": "not found"}\n', 404, mimetype="application/json")
        st = app.extensions["wirefeed"]
        return render_template("404.html", title=st.settings.feed_title, path=request.path), 404

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(redis.exceptions.ReadOnlyError)  # a demoted primary, under a plain REDIS_URL
    @app.errorhandler(StoreUnavailable)
    def _redis_down(exc: Exception) -> Response:
        return Response(
            "storage unavailable, retry later\n",
            503,
            {"Retry-After": str(defaults.RETRY_AFTER_SECONDS)},
            mimetype="text/plain",
        )

    @app.before_request
    def _bounded_query() -> Response | None:
        if len(request.query_string) > defaults.MAX_QUERY_BYTES:
            return Response(
                f"query string over {defaults.MAX_QUERY_BYTES} bytes\n", 414, mimetype="text/plain"
            )
        return None

    @app.after_request
    def _count_feed_response(resp: Response) -> Response:
        if request.path.startswith("/feeds/"):
            web_metrics.count_feed(resp.status_code, metrics.feed_format(request.path, request.args))
        return resp

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        tagged = g.pop("surrogate_keys", None)  # set by the page views (services/pages.py)
        if tagged is not None:
            for name, value in cdn.headers(tagged):
                resp.headers[name] = value
        for name, value in SECURITY_HEADERS:
            resp.headers.setdefault(name, value)
        if resp.mimetype == "text/html":
            for name, value in HTML_SECURITY_HEADERS:
                resp.headers.setdefault(name, value)
        return resp

    if settings.proxy_hops:
        # The client address (rate limits) from the X-Forwarded-For of that many proxies; a
        # client cannot spoof it, as each trusted proxy appends what it saw.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    # Plain feed requests are answered before Flask routing (see services/fast_feeds.py);
    # everything else, and anything the fast path cannot answer itself, reaches Flask unchanged.
    app.wsgi_app = FastFeeds(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions["wirefeed"], count=web_metrics.count_feed
    )
    return app

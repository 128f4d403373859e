"""Baseline of scenario 2: a minimal Flask app that returns a feed's bytes from Redis.

One route, one Redis round trip (``MGET`` of the body and its ETag, which the bench stored
under ``bench:min:<name>``), a 304 when ``If-None-Match`` names that ETag. Served by gunicorn
with the same worker class, workers and threads as ``wirefeed serve``, and otherwise gunicorn's
defaults (so no access log):

    REDIS_URL=... gunicorn -k gthread -w 2 --threads 8 'bench.baseline_flask:build()'
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request

PREFIX = "bench:min:"


def key(name: str) -> str:
    return f"{PREFIX}{name}"


def build() -> Flask:
    app = Flask(__name__)
    r = redis.Redis.from_url(os.environ["REDIS_URL"])

    @app.get("/feeds/<name>")
    def feed(name: str) -> Response:
        body, etag = r.mget(key(name), key(name) + ":etag")
        if body is None:
            return Response("not found\n", 404, mimetype="text/plain")
        tag = etag.decode()
        if request.headers.get("If-None-Match") == tag:
            return Response(status=304, headers={"ETag": tag})
        return Response(body, 200, headers={"ETag": tag}, content_type="application/atom+xml; charset=utf-8")

    return app

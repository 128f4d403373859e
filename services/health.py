"""``/healthz``: 200 when Redis answers, 503 otherwise."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from wirefeed.errors import StoreUnavailable
from wirefeed.feeds.store.story_store import ping
from wirefeed.services.state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        ping(state().redis)
    except StoreUnavailable as exc:
        return jsonify({"status": "unavailable", "redis": str(exc)}), 503
    return jsonify({"status": "ok", "redis": "ok"}), 200

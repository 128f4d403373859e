"""``/healthz`` (liveness: 200 when Redis answers, 503 otherwise) and ``/readyz`` (readiness).

``/readyz`` is 200 only when Redis answers, at least one live worker (fresh heartbeat) serves
each queue, and a live categorize worker has its categorizer model loaded (workers report that
in their heartbeat: the web never loads the model itself). Otherwise 503, with every reason.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, jsonify

from wirefeed.errors import StoreUnavailable
from wirefeed.feeds.queue.workers import QUEUES, live_workers, serving
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


def readiness(client: redis.Redis) -> dict[str, Any]:
    """What ``/readyz`` answers: ``ready``, ``reasons`` (empty when ready), and what was seen."""
    try:
        ping(client)
        workers = live_workers(client)
    except (StoreUnavailable, redis.RedisError) as exc:
        return {"ready": False, "reasons": [f"redis: {exc}"], "redis": "unavailable"}
    per_queue = {q: len(serving(workers, q)) for q in QUEUES}
    reasons = [f"no live worker serves the {q} queue" for q, n in per_queue.items() if n == 0]
    model = sorted({workers[w].get("model", "unknown") for w in serving(workers, "categorize")})
    if per_queue["categorize"] and not {"loaded", "rules"} & set(model):
        reasons.append("no live categorize worker has loaded its categorizer model")
    return {"ready": not reasons, "reasons": reasons, "redis": "ok", "workers": per_queue, "model": model}


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    body = readiness(state().redis)
    return jsonify(body), 200 if body["ready"] else 503

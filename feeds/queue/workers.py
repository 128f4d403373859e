"""Who serves the queues, and how full they are: read by ``/readyz``, ``/metrics`` and
``wirefeed check-worker`` from what the workers' heartbeats and rq keep in Redis (so the web
needs neither the workers' code nor their host)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.utils import utcparse

from wirefeed.feeds.store import keys

QUEUES = {
    "ingest": keys.INGEST_QUEUE,
    "express": keys.EXPRESS_QUEUE,
    "categorize": keys.CATEGORIZE_QUEUE,
    "websub": keys.WEBSUB_QUEUE,
}
"""Short names (as ``wirefeed worker --queues`` takes them) of the rq queues."""


def live_workers(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """Worker name -> what its heartbeat reports (``queues``, ``host``, ``model``), for workers
    whose heartbeat is fresh; entries of dead workers are dropped."""
    raw = client.hgetall(keys.WORKERS)
    if not raw:
        return {}
    names = list(raw)
    flags = client.mget([keys.alive(n.decode()) for n in names])
    dead = [n for n, flag in zip(names, flags, strict=True) if flag is None]
    if dead:
        client.hdel(keys.WORKERS, *dead)
    return {n.decode(): json.loads(raw[n]) for n, flag in zip(names, flags, strict=True) if flag is not None}


def serving(workers: dict[str, dict[str, Any]], queue: str, host: str | None = None) -> list[str]:
    """Names of the workers (on ``host``, if given) that serve ``queue`` (a short name)."""
    return [
        name
        for name, info in workers.items()
        if queue in info.get("queues", ()) and (host is None or info.get("host") == host)
    ]


@dataclass(frozen=True)
class QueueStats:
    """One rq queue: jobs waiting, age (s) of the oldest one (0 if none), failed jobs kept."""

    depth: int
    oldest_age: float
    failed: int


def queue_stats(client: redis.Redis) -> dict[str, QueueStats]:
    """Short queue name -> its stats, in two round trips."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    for name in QUEUES.values():
        queue = Queue(name, connection=client)
        pipe.llen(queue.key)
        pipe.lindex(queue.key, 0)  # rq appends at the right: the oldest job is first
        pipe.zcount(FailedJobRegistry(queue=queue).key, now, "+inf")  # scores are expiry times
    replies = pipe.execute()
    firsts = [replies[i + 1] for i in range(0, len(replies), 3)]
    pipe = client.pipeline(transaction=False)
    for job_id in firsts:
        pipe.hget(Job.key_for(job_id.decode()), "enqueued_at") if job_id else pipe.echo("")
    enqueued = pipe.execute()
    out = {}
    for n, short in enumerate(QUEUES):
        depth, _, failed = replies[3 * n : 3 * n + 3]
        age = 0.0
        if enqueued[n]:
            try:
                age = max(0.0, now - utcparse(enqueued[n].decode()).timestamp())
            except ValueError:
                age = 0.0
        out[short] = QueueStats(int(depth), age, int(failed))
    return out

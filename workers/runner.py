"""Running a worker process: one rq ``SimpleWorker`` (no fork per job) on wirefeed's queues.

Forking costs ~17 ms CPU per job; jobs here are batches and share the loaded taxonomy and
categorizer, so a non-forking worker is both faster and safe (jobs keep no global state).
"""

from __future__ import annotations

import logging

from rq import Queue, SimpleWorker

from config.settings import Settings
from feeds import keys
from workers import context
from workers.liveness import Heartbeat

QUEUES = {"ingest": keys.INGEST_QUEUE, "categorize": keys.CATEGORIZE_QUEUE, "websub": keys.WEBSUB_QUEUE}
"""Short names (as ``wirefeed worker --queues`` takes them) of the rq queues."""


def run_worker(
    settings: Settings, queues: list[str], *, burst: bool = False, name: str | None = None
) -> bool:
    """Work on ``queues`` (short names) until stopped (or, with ``burst``, until they are empty)."""
    ctx = context.build(settings)
    context.install(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = SimpleWorker(
        [Queue(QUEUES[q], connection=ctx.redis) for q in queues],
        connection=ctx.redis,
        name=name,
    )
    heartbeat = Heartbeat(ctx.redis, worker.name, [QUEUES[q] for q in queues]).start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
    finally:
        heartbeat.stop()

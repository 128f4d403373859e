"""Running a worker process: one rq ``SimpleWorker`` (no fork per job) on wirefeed's queues.

Forking costs ~17 ms CPU per job; jobs here are batches and share the loaded taxonomy and
categorizer, so a non-forking worker is both faster and safe (jobs keep no global state).
"""

from __future__ import annotations

import logging
import time

import redis
from rq import Queue, SimpleWorker

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys
from wirefeed.workers import context
from wirefeed.workers.liveness import Heartbeat

log = logging.getLogger(__name__)

QUEUES = {
    "ingest": keys.INGEST_QUEUE,
    "express": keys.EXPRESS_QUEUE,
    "categorize": keys.CATEGORIZE_QUEUE,
    "websub": keys.WEBSUB_QUEUE,
}
"""Short names (as ``wirefeed worker --queues`` takes them) of the rq queues."""


def run_worker(
    settings: Settings, queues: list[str], *, burst: bool = False, name: str | None = None
) -> bool:
    """Work on ``queues`` (short names) until stopped (or, with ``burst``, until they are empty).

    If Redis goes away while a job runs, rq's loop gives up; this loop waits for Redis to come
    back and starts a fresh rq worker (the job it held is re-queued by the other workers'
    reapers, since it names the old, now silent, worker).
    """
    ctx = context.build(settings)
    context.install(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    while True:
        worker = SimpleWorker(
            [Queue(QUEUES[q], connection=ctx.redis) for q in queues],
            connection=ctx.redis,
            name=name,
        )
        heartbeat: Heartbeat | None = None
        try:
            heartbeat = Heartbeat(
                ctx.redis,
                worker.name,
                [QUEUES[q] for q in queues],
                max_attempts=settings.job_max_attempts,
            ).start()
            return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if burst or worker._shutdown_requested_date is not None:
                return False
            log.warning("lost Redis (%s); waiting for it to come back", exc)
            _wait_for_redis(ctx.redis)
        finally:
            if heartbeat is not None:
                heartbeat.stop()


def _wait_for_redis(client: redis.Redis) -> None:
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            time.sleep(defaults.RECONNECT_POLL_SECONDS)

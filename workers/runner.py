"""Running a worker process: one rq ``SimpleWorker`` (no fork per job) on wirefeed's queues.

Forking costs ~17 ms CPU per job; jobs here are batches and share the loaded taxonomy and
categorizer, so a non-forking worker is both faster and safe (jobs keep no global state).
"""

from __future__ import annotations

import logging
import socket
import time
from functools import partial

import redis
from rq import Queue, SimpleWorker

from wirefeed.config import defaults
from wirefeed.config.logs import setup_logging
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.queue.workers import QUEUES
from wirefeed.workers import context
from wirefeed.workers.liveness import Heartbeat

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, queues: list[str], *, burst: bool = False, name: str | None = None
) -> bool:
    """Work on ``queues`` (short names) until stopped (or, with ``burst``, until they are empty).

    If Redis goes away while a job runs, rq's loop gives up; this loop waits for Redis to come
    back (the same server, or the primary a failover promoted) and starts a fresh rq worker
    (the job it held is re-queued by the other workers' reapers, since it names the old, now
    silent, worker). A worker that survived a failover idle re-queues the jobs the new primary
    still lists as its own but that it does not run (:class:`~wirefeed.workers.liveness.Own`).
    """
    setup_logging(settings.log_format, role=f"worker:{','.join(queues)}")
    ctx = context.build(settings)  # loads the taxonomy and the categorizer (and its model) now
    context.install(ctx)
    log.info("worker ready", extra={"event": "worker_ready", "queues": queues})
    takes_ingests = bool({"ingest", "express"} & set(queues))
    while True:
        worker = SimpleWorker(
            [Queue(QUEUES[q], connection=ctx.redis) for q in queues],
            connection=ctx.redis,
            name=name,
        )
        worker.max_connection_wait_time = defaults.RECONNECT_POLL_SECONDS * 4  # rq's backoff, capped
        heartbeat: Heartbeat | None = None
        try:
            info = {"queues": queues, "host": socket.gethostname(), "model": _model_state(ctx)}
            heartbeat = Heartbeat(
                ctx.redis,
                worker.name,
                [QUEUES[q] for q in queues],
                info=info,
                running=partial(_running, worker),
                tick=partial(ingests.enqueue_stranded, ctx.redis, settings) if takes_ingests else None,
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


def _model_state(ctx: context.WorkerContext) -> str:
    """``loaded`` when the taxonomy's classifier model is in memory, ``rules`` when it has none."""
    return "loaded" if ctx.taxonomy.classifier is not None or ctx.settings.categorizer else "rules"


def _running(worker: SimpleWorker) -> set[str]:
    """The jobs ``worker`` runs now, from its own memory."""
    return {e.job_id for e in list(worker.executions.values())}


def _wait_for_redis(client: redis.Redis) -> None:
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            time.sleep(defaults.RECONNECT_POLL_SECONDS)

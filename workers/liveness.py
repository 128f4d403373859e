"""Worker heartbeats, and re-queuing the jobs of workers that died.

rq does not retry a job whose worker was killed: the job stays "started" until its registry
entry expires (the job timeout plus a minute), and is then moved to the failed registry
(rq issues #152, #2015). wirefeed's jobs are idempotent (see :func:`workers.pipeline.run_batch`),
so a dead worker's job can simply run again, and soon:

    every HEARTBEAT_SECONDS, in a thread of each worker process:
        SET wf:alive:<worker> EX HEARTBEAT_TTL
        for each started job of wirefeed's queues:
            if no wf:alive:<its worker> (the worker died) and SET NX wf:reap:<job>:
                remove it from the started registry and put it back at the front of its queue
        for each job in the failed registries that rq failed as abandoned: the same
"""

from __future__ import annotations

import contextlib
import logging
import threading

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from config import defaults
from feeds import keys

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread that keeps ``wf:alive:<name>`` fresh and reaps abandoned jobs."""

    def __init__(
        self,
        client: redis.Redis,
        worker_name: str,
        queue_names: list[str],
        interval: float = defaults.HEARTBEAT_SECONDS,
        ttl: int = defaults.HEARTBEAT_TTL,
    ) -> None:
        self.client = client
        self.name = worker_name
        self.queue_names = queue_names
        self.interval = interval
        self.ttl = ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wirefeed-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(redis.RedisError):
            self.client.delete(keys.alive(self.name))

    def beat(self) -> None:
        self.client.set(keys.alive(self.name), "1", ex=self.ttl)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                reap(self.client, self.queue_names, lock_ttl=self.ttl * 2)
            except redis.RedisError as exc:  # Redis restarting: try again next beat
                log.warning("heartbeat: %s", exc)


def reap(client: redis.Redis, queue_names: list[str], lock_ttl: int = 10) -> list[str]:
    """Re-queue jobs whose worker is dead; return their ids."""
    requeued = []
    for name in queue_names:
        queue = Queue(name, connection=client)
        started = StartedJobRegistry(queue=queue)
        for job_id in started.get_job_ids(cleanup=False):
            job = _fetch(client, job_id)
            if job is None or not job.worker_name or client.exists(keys.alive(job.worker_name)):
                continue
            if _requeue(client, queue, job, lock_ttl, started):
                requeued.append(job_id)
        failed = FailedJobRegistry(queue=queue)
        for job_id in failed.get_job_ids(cleanup=False):
            job = _fetch(client, job_id)
            if (
                job is not None
                and "AbandonedJobError" in (job.exc_info or "")
                and _requeue(client, queue, job, lock_ttl, failed)
            ):
                requeued.append(job_id)
    return requeued


def _fetch(client: redis.Redis, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=client)
    except NoSuchJobError:
        return None


def _requeue(
    client: redis.Redis,
    queue: Queue,
    job: Job,
    lock_ttl: int,
    registry: StartedJobRegistry | FailedJobRegistry,
) -> bool:
    if not client.set(keys.reap_lock(job.id), "1", nx=True, ex=lock_ttl):
        return False  # another worker is re-queuing it
    log.warning("re-queuing job %s abandoned by dead worker %s", job.id, job.worker_name)
    if isinstance(registry, StartedJobRegistry):
        registry.remove_executions(job)
    else:
        registry.remove(job)
    queue.enqueue_job(job, at_front=True)
    return True

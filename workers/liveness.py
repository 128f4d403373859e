"""Worker heartbeats, and re-queuing the jobs of workers that died.

rq does not retry a job whose worker was killed: the job stays "started" until its registry
entry expires (the job timeout plus a minute), and is then moved to the failed registry
(rq issues #152, #2015). wirefeed's jobs are idempotent (see :func:`wirefeed.workers.pipeline.run_batch`),
so a dead worker's job can simply run again, and soon:

    every HEARTBEAT_SECONDS, in a thread of each worker process:
        SET wf:alive:<worker> EX HEARTBEAT_TTL; HSET wf:workers <worker> (queues, host, model)
        for each started execution of wirefeed's queues:
            if no wf:alive:<its worker> (the worker died) and SET NX wf:reap:<job>:
                remove it from the started registry; INCR wf:attempts:<job>
                if that reached JOB_MAX_ATTEMPTS (the job itself kills its worker: out of
                memory, a segfault): move it to the failed registry with the reason
                (``wirefeed failed`` lists it, ``wirefeed retry`` re-queues it)
                else put it back at the front of its queue
        for each job in rq's intermediate list (taken from the queue, not started) for longer
        than HEARTBEAT_TTL (its worker died between the two): the same
        for each started execution naming this very worker that it is not running (it
        finished the job on a primary that died before the replica got the news, and the
        promoted replica still lists it as started) for longer than HEARTBEAT_TTL: the same
        for each job in the failed registries that rq failed as abandoned, or that failed
        because Redis went away under it (a failover mid-job): the same
        the worker's chores (``tick``), e.g. queueing stranded ingests
        (a job taken from the queue but never started is re-queued without counting an attempt)

The worker of a started job is the one named in its rq *execution*: the job's own
``worker_name`` is written a moment later (a worker killed in between leaves none) and still
names the previous, dead worker while a re-queued job is being started again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Collection

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.results import Result

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread that keeps ``wf:alive:<name>`` fresh and reaps abandoned jobs."""

    def __init__(
        self,
        client: redis.Redis,
        worker_name: str,
        queue_names: list[str],
        *,
        interval: float = defaults.HEARTBEAT_SECONDS,
        ttl: int = defaults.HEARTBEAT_TTL,
        info: dict[str, object] | None = None,
        running: Callable[[], Collection[str]] | None = None,
        tick: Callable[[], object] | None = None,
        max_attempts: int = defaults.JOB_MAX_ATTEMPTS,
    ) -> None:
        self.client = client
        self.max_attempts = max_attempts
        self.name = worker_name
        self.queue_names = queue_names
        self.info = json.dumps(info or {"queues": queue_names})
        self.interval = interval
        self.ttl = ttl
        self.running = running
        """The ids of the jobs this worker runs now (from its own memory, not from Redis)."""
        self.tick = tick
        self._orphans: dict[str, float] = {}
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
            self.client.hdel(keys.WORKERS, self.name)

    def beat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(keys.alive(self.name), "1", ex=self.ttl)
        pipe.hset(keys.WORKERS, self.name, self.info)  # what /readyz and check-worker read
        pipe.execute()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                reap(
                    self.client,
                    self.queue_names,
                    lock_ttl=self.ttl * 2,
                    own=self._own(),
                    max_attempts=self.max_attempts,
                )
            except redis.RedisError as exc:  # Redis restarting or failing over: try again next beat
                log.warning("heartbeat: %s", exc)
                continue
            if self.tick is not None:
                try:
                    self.tick()
                except Exception:  # a chore must never stop the heartbeat (the worker would look dead)
                    log.exception("heartbeat chore failed")

    def _own(self) -> Own | None:
        if self.running is None:
            return None
        return Own(self.name, set(self.running()), self._orphans, self.ttl)


class Own:
    """What a worker knows of itself for :func:`reap`: its name, the jobs it runs (read before
    the started registry, so a job starting meanwhile is not taken for an orphan), and since
    when each of its orphans was seen."""

    def __init__(self, name: str, running: set[str], seen: dict[str, float], after: float) -> None:
        self.name = name
        self.running = running
        self.seen = seen
        self.after = after

    def orphaned(self, job_id: str, workers: set[str]) -> bool:
        """Whether a started job naming ``workers`` is this worker's orphan for long enough."""
        if workers != {self.name} or job_id in self.running:
            self.seen.pop(job_id, None)
            return False
        first = self.seen.setdefault(job_id, time.monotonic())
        return time.monotonic() - first >= self.after


def reap(
    client: redis.Redis,
    queue_names: list[str],
    *,
    lock_ttl: int = 10,
    stuck_after: float = defaults.HEARTBEAT_TTL,
    own: Own | None = None,
    max_attempts: int = defaults.JOB_MAX_ATTEMPTS,
) -> list[str]:
    """Re-queue jobs whose worker is dead (or, with ``own``, that this worker lists as started
    but does not run), or fail those whose worker died ``max_attempts`` times; return their ids."""
    requeued: list[str] = []
    for name in queue_names:
        queue = Queue(name, connection=client)
        running = _reap_started(client, queue, lock_ttl, requeued, max_attempts, own=own)
        _reap_intermediate(
            client, queue, lock_ttl, stuck_after=stuck_after, running=running, requeued=requeued
        )
        _reap_failed(client, queue, lock_ttl, requeued, max_attempts)
    return requeued


def _reap_started(
    client: redis.Redis,
    queue: Queue,
    lock_ttl: int,
    requeued: list[str],
    max_attempts: int,
    *,
    own: Own | None = None,
) -> set[str]:
    """Started jobs whose worker is dead, or that are ``own``'s orphans; returns the ids of
    every started job."""
    running: dict[str, list[str]] = {}
    for job_id, execution_id in StartedJobRegistry(queue=queue).get_job_and_execution_ids(cleanup=False):
        running.setdefault(job_id, []).append(f"{job_id}:{execution_id}")
    for job_id, members in running.items():
        job = _fetch(client, job_id)
        if job is None:
            continue
        workers = {w for m in members if (w := _execution_worker(client, m))}
        if not workers and job.worker_name:
            workers = {job.worker_name}
        if own is not None and own.orphaned(job_id, workers):
            if _requeue(
                client, queue, job, lock_ttl, dead=f"{own.name} (lost by a failover)", started_members=members
            ):
                requeued.append(job_id)
                own.seen.pop(job_id, None)
            continue
        if not workers or any(client.exists(keys.alive(w)) for w in workers):
            continue
        dead = ", ".join(sorted(workers))
        if _requeue(
            client, queue, job, lock_ttl, dead=dead, started_members=members, max_attempts=max_attempts
        ):
            requeued.append(job_id)
    return set(running)


def _reap_intermediate(
    client: redis.Redis,
    queue: Queue,
    lock_ttl: int,
    *,
    stuck_after: float,
    running: set[str],
    requeued: list[str],
) -> None:
    """Jobs a worker took from the queue (rq's intermediate list) but never started."""
    intermediate = IntermediateQueue(queue.key, connection=client)
    for job_id in dict.fromkeys(intermediate.get_job_ids()):
        if job_id in running:
            continue
        intermediate.set_first_seen(job_id)
        seen = intermediate.get_first_seen(job_id)
        if seen is None or time.time() - seen.timestamp() < stuck_after:
            continue
        job = _fetch(client, job_id)
        if job is None:
            intermediate.remove(job_id)
            continue
        if job.enqueued_at and time.time() - job.enqueued_at.timestamp() < stuck_after:
            continue  # queued again lately (``wirefeed retry``): an old first-seen mark is stale
        if _requeue(client, queue, job, lock_ttl, dead="(taken from the queue, never started)"):
            requeued.append(job_id)


REDIS_LOST = (
    "redis.exceptions.ConnectionError",
    "redis.exceptions.TimeoutError",
    "redis.exceptions.ReadOnlyError",
    "redis.exceptions.BusyLoadingError",
    "redis.sentinel.MasterNotFoundError",
)
"""The last line of a job's traceback when it failed because Redis went away under it."""


def _reap_failed(
    client: redis.Redis, queue: Queue, lock_ttl: int, requeued: list[str], max_attempts: int
) -> None:
    """Jobs rq itself failed as abandoned (its own, much later, check of dead workers), and jobs
    that failed because Redis went away while they ran (a restart or failover: they are
    idempotent, so they run again)."""
    failed = FailedJobRegistry(queue=queue)
    for job_id in failed.get_job_ids(cleanup=False):
        job = _fetch(client, job_id)
        if job is None:
            continue
        exc = (job.exc_info or "").strip()
        last = exc.rsplit("\n", 1)[-1]
        why = (
            "abandoned" if "AbandonedJobError" in exc else "Redis lost" if last.startswith(REDIS_LOST) else ""
        )
        dead = f"{job.worker_name or '?'} (failed: {why})"
        counted = max_attempts if why == "abandoned" else None  # a lost Redis is not the job's fault
        if why and _requeue(
            client, queue, job, lock_ttl, dead=dead, failed=failed, max_attempts=counted
        ):
            requeued.append(job_id)


def _execution_worker(client: redis.Redis, member: str) -> str | None:
    """The worker named in the rq execution ``<job>:<execution>`` of a started registry."""
    raw = client.hget(f"rq:execution:{member}", "worker_name")
    return raw.decode() if raw else None


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
    *,
    dead: str,
    started_members: list[str] | None = None,
    failed: FailedJobRegistry | None = None,
    max_attempts: int | None = None,
) -> bool:
    """Put an abandoned job back at the front of its queue; with ``max_attempts`` (the job was
    running when its worker died) count the death first, and at ``max_attempts`` deaths move the
    job to the failed registry instead. Returns whether it was re-queued."""
    if not client.set(keys.reap_lock(job.id), "1", nx=True, ex=lock_ttl):
        return False  # another worker is re-queuing it
    deaths = 0
    if max_attempts is not None:
        pipe = client.pipeline(transaction=True)
        pipe.incr(keys.job_attempts(job.id))
        pipe.expire(keys.job_attempts(job.id), defaults.FAILED_JOB_TTL)
        deaths = int(pipe.execute()[0])
    intermediate = IntermediateQueue(queue.key, connection=client)
    pipe = client.pipeline(transaction=True)
    if started_members:
        pipe.zrem(StartedJobRegistry(queue=queue).key, *started_members)
    pipe.lrem(intermediate.key, 0, job.id)  # else rq's maintenance would later fail it as "stuck"
    pipe.delete(intermediate.get_first_seen_key(job.id))
    if max_attempts is not None and deaths >= max_attempts:
        reason = (
            f"wirefeed.workers.liveness: the worker running this job died {deaths} times "
            f"(last: {dead}); not re-queued again (JOB_MAX_ATTEMPTS={max_attempts})"
        )
        log.error("job %s failed: %s", job.id, reason)
        ttl = job.failure_ttl or defaults.FAILED_JOB_TTL
        if failed is None:
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            FailedJobRegistry(queue=queue).add(job, ttl=ttl, exc_string=reason, pipeline=pipe)
        # the reason as the job's latest result, which ``wirefeed failed`` shows
        Result.create_failure(job, ttl, exc_string=reason, pipeline=pipe)
        pipe.execute()
        return False
    pipe.execute()
    counted = f" ({deaths} of {max_attempts} attempts failed)" if max_attempts is not None else ""
    log.warning("re-queuing job %s abandoned by dead worker %s%s", job.id, dead, counted)
    if failed is not None:
        failed.remove(job)
    queue.enqueue_job(job, at_front=True)
    return True

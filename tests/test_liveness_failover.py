"""The reaper's two failover cases, on real rq records in a real Redis (a queue no worker
listens to): a started job that names a live worker which is not running it (its end was lost
with the old primary) is re-queued by that worker alone; a job that failed because Redis went
away is re-queued, one that failed on its own is not."""

from __future__ import annotations

import redis
from rq import Queue
from rq.executions import Execution
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.results import Result

from wirefeed.feeds.store import keys
from wirefeed.workers.liveness import Own, reap

QUEUE = "wirefeed-test-reap"


def started(client: redis.Redis, job_id: str, worker: str) -> Queue:
    """A job taken and started by ``worker``, as rq records it."""
    queue = Queue(QUEUE, connection=client)
    queue.empty()
    job = queue.enqueue_call(keys.CATEGORIZE_JOB, args=("none", 0), job_id=job_id)
    queue.remove(job)
    with client.pipeline() as pipe:
        Execution.create(job, 60, pipeline=pipe, worker_name=worker)
        pipe.execute()
    client.set(keys.alive(worker), "1", ex=30)
    return queue


def test_a_live_workers_lost_job_is_requeued_by_that_worker_only(client: redis.Redis) -> None:
    queue = started(client, "batch-orphan-0", "w-alive")
    assert reap(client, [QUEUE]) == []  # another worker: its worker is alive
    running = Own("w-alive", {"batch-orphan-0"}, {}, 0)
    assert reap(client, [QUEUE], own=running) == []  # it runs the job: not an orphan
    other = Own("w-other", set(), {}, 0)
    assert reap(client, [QUEUE], own=other) == []  # not its job
    seen: dict[str, float] = {}
    assert reap(client, [QUEUE], own=Own("w-alive", set(), seen, 3600)) == []  # not for long enough yet
    assert "batch-orphan-0" in seen
    assert reap(client, [QUEUE], own=Own("w-alive", set(), seen, 0)) == ["batch-orphan-0"]
    assert queue.job_ids == ["batch-orphan-0"]
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []
    queue.empty()


def test_a_job_failed_by_a_lost_redis_is_requeued_and_a_job_failed_by_itself_is_not(
    client: redis.Redis,
) -> None:
    queue = Queue(QUEUE, connection=client)
    queue.empty()
    failed = FailedJobRegistry(queue=queue)
    head = "Traceback (most recent call last):\n  ...\n"
    tracebacks = {
        "batch-lost-0": head + "redis.exceptions.ConnectionError: Error 111",
        "batch-lost-1": head + "redis.sentinel.MasterNotFoundError: No master",
        "batch-own-0": head + "ValueError: redis.exceptions.ConnectionError",
    }
    for job_id, exc in tracebacks.items():
        job = queue.enqueue_call(keys.CATEGORIZE_JOB, args=("none", 0), job_id=job_id)
        queue.remove(job)
        with client.pipeline() as pipe:  # what rq's worker records for a failed job
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            Result.create_failure(job, 600, exc, pipeline=pipe)
            failed.add(job, ttl=600, pipeline=pipe)
            pipe.execute()
    assert sorted(reap(client, [QUEUE])) == ["batch-lost-0", "batch-lost-1"]
    assert sorted(queue.job_ids) == ["batch-lost-0", "batch-lost-1"]
    assert failed.get_job_ids(cleanup=False) == ["batch-own-0"]
    queue.empty()
    failed.remove("batch-own-0", delete_job=True)

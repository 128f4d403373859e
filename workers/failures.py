"""Work set aside: stories the categorizer failed on (``wf:poison``) and failed rq jobs.

``wirefeed failed`` lists both; ``wirefeed retry`` puts the stories back through the pipeline as
a new ingest (one batch) and re-queues the failed jobs.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue
from rq.registry import FailedJobRegistry

from wirefeed.config.settings import Settings
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.queue.payload import encode_batch
from wirefeed.feeds.store import keys


@dataclass(frozen=True, slots=True)
class FailedItem:
    kind: str
    """``story`` (set aside by the categorizer) or ``job`` (an rq job that failed)."""
    key: str
    title: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "title": self.title, "error": self.error}


QUEUE_NAMES = (keys.INGEST_QUEUE, keys.EXPRESS_QUEUE, keys.CATEGORIZE_QUEUE)


def list_failed(client: redis.Redis) -> list[FailedItem]:
    items = []
    for key, raw in sorted(client.hgetall(keys.POISON).items()):
        entry = json.loads(raw)
        items.append(FailedItem("story", key.decode(), entry["title"], entry["error"]))
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(queue=Queue(name, connection=client))
        for job_id in registry.get_job_ids(cleanup=False):
            job = registry.job_class.fetch(job_id, connection=client)
            last = (job.exc_info or "").strip().splitlines()[-1:] or ["(no error recorded)"]
            items.append(FailedItem("job", job_id, job.description or job.func_name, last[0]))
    return items


def retry_failed(client: redis.Redis, settings: Settings) -> tuple[int, int]:
    """Re-queue every set-aside story (as one new ingest) and failed job; return both counts."""
    raw = client.hgetall(keys.POISON)
    groups: list[list[dict[str, Any]]] = []
    source = "retry"
    for entry in (json.loads(v) for v in raw.values()):
        groups.append(entry["group"])
        source = entry.get("source") or source
    if groups:
        ingest_id = uuid.uuid4().hex
        pipe = client.pipeline(transaction=True)
        pipe.set(keys.batch(f"{ingest_id}:0"), encode_batch(source, groups))
        pipe.hset(
            keys.ingest(ingest_id),
            mapping={
                "state": "categorizing",
                "source": "retry",
                "stories": len(groups),
                "errors": "[]",
                "batches": 1,
                "batches_done": 0,
                "new": 0,
                "updated": 0,
                "unchanged": 0,
                "failed": 0,
            },
        )
        pipe.hdel(keys.POISON, *raw.keys())
        pipe.execute()
        Queue(keys.CATEGORIZE_QUEUE, connection=client).enqueue_call(
            keys.CATEGORIZE_JOB,
            args=(ingest_id, 0),
            job_id=f"batch-{ingest_id}-0",
            **job_options(settings),
        )
    jobs = 0
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(queue=Queue(name, connection=client))
        for job_id in registry.get_job_ids(cleanup=False):
            client.delete(keys.job_attempts(job_id))  # its count of dead workers starts again
            registry.requeue(job_id)
            jobs += 1
    return len(groups), jobs

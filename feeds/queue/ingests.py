"""Submitting a dump and following its ingest: what the API, the CLI and the inbox call.

:func:`submit` checks a dump, stores it and queues its ingest job (the workers take it from
there: :mod:`wirefeed.workers.pipeline`); :func:`progress` and :func:`wait` read ``wf:ingest:<id>``.
Runs in the caller's process, so it loads neither numpy nor the categorizer.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import InputRejected, NoSuchIngest
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.parse import parse_dump
from wirefeed.feeds.stories.sniff import refusal


@dataclass(frozen=True, slots=True)
class Submission:
    """What the submitter learns at once: the ingest id, the stories found, the items rejected."""

    ingest_id: str
    stories: int
    errors: list[InputRejected]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "stories": self.stories,
            "rejected": [e.to_dict() for e in self.errors],
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one ingest stands (``wirefeed ingest --wait`` and ``GET /api/ingest/<id>``)."""

    state: str
    stories: int
    new: int
    updated: int
    unchanged: int
    failed: int
    batches: int
    withdrawn: int
    batches_done: int
    errors: list[dict[str, Any]]

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "stories": self.stories,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "withdrawn": self.withdrawn,
            "batches": self.batches,
            "batches_done": self.batches_done,
            "rejected": self.errors,
        }


FORCE_HINT = "pass --force (CLI) or ?force=1 (API) to ingest it anyway"


def submit(
    client: redis.Redis, settings: Settings, data: bytes, source: str, *, force: bool = False
) -> Submission:
    """Check a dump, store it and queue its ingest. Raises :class:`InputRejected` for a bad dump,
    and (unless ``force``) for one that looks like Markdown, HTML or code (``not-a-dump``)."""
    result = parse_dump(data, max_bytes=settings.max_dump_bytes)
    if not force and (why := refusal(data)) is not None:
        raise InputRejected("not-a-dump", f"{why[0]}; {FORCE_HINT}", why[1])
    ingest_id = uuid.uuid4().hex
    errors = json.dumps([e.to_dict() for e in result.errors])
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.dump(ingest_id), data)
    pipe.hset(
        keys.ingest(ingest_id),
        mapping={
            "state": "queued",
            "source": source,
            "stories": len(result.stories),
            "errors": errors,
            "batches": 0,
            "batches_done": 0,
            "new": 0,
            "updated": 0,
            "unchanged": 0,
        },
    )
    pipe.execute()
    express = len(result.stories) <= settings.express_max_stories
    Queue(keys.EXPRESS_QUEUE if express else keys.INGEST_QUEUE, connection=client).enqueue_call(
        keys.EXPRESS_JOB if express else keys.INGEST_JOB,
        args=(ingest_id,),
        job_id=f"ingest-{ingest_id}",
        **job_options(settings),
    )
    return Submission(ingest_id, len(result.stories), result.errors)


def progress(client: redis.Redis, ingest_id: str) -> Progress:
    raw = {k.decode(): v.decode() for k, v in client.hgetall(keys.ingest(ingest_id)).items()}
    if not raw:
        raise NoSuchIngest(f"no ingest {ingest_id!r} (unknown or expired)")
    n = {
        k: int(raw.get(k, 0))
        for k in ("stories", "new", "updated", "unchanged", "failed", "withdrawn", "batches", "batches_done")
    }
    return Progress(state=raw["state"], errors=json.loads(raw.get("errors", "[]")), **n)


def wait(
    client: redis.Redis, ingest_id: str, timeout: float, poll: float = defaults.INGEST_POLL_SECONDS
) -> Progress:
    """Block until the ingest is done (or ``timeout`` seconds pass); return its progress."""
    deadline = time.monotonic() + timeout
    while True:
        state = progress(client, ingest_id)
        if state.done or time.monotonic() > deadline:
            return state
        time.sleep(poll)

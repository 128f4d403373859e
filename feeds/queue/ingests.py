"""Submitting a dump and following its ingest: what the API, the CLI and the inbox call.

:func:`submit` checks a dump, stores it and queues its ingest job (the workers take it from
there: :mod:`wirefeed.workers.pipeline`); :func:`progress` and :func:`wait` read ``wf:ingest:<id>``.
Runs in the caller's process, so it loads neither numpy nor the categorizer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import InputRejected, NoSuchIngest, NotReplicated
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.store import keys, metrics
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
    or (unless ``force``) for one that looks like Markdown, HTML or code (``not-a-dump``), and
    :class:`NotReplicated` when ``min_replicas`` replicas did not confirm it in time (then
    nothing of it is kept and nothing is queued).

    Without replicas to wait for, the dump, its progress record and its job go in one MULTI.
    With them: the dump and its record go in one MULTI followed by ``WAIT`` on the same
    connection; on a timeout they are removed again; once replicated, the job is queued (and the
    dump leaves ``wf:unqueued``). A primary lost between the two leaves the dump in
    ``wf:unqueued`` on the promoted replica, where :func:`enqueue_stranded` finds it.
    """
    result = parse_dump(data, max_bytes=settings.max_dump_bytes)
    if not force and (why := refusal(data)) is not None:
        raise InputRejected("not-a-dump", f"{why[0]}; {FORCE_HINT}", why[1])
    ingest_id = uuid.uuid4().hex
    record = {
        "state": "queued",
        "source": source,
        "stories": len(result.stories),
        "errors": json.dumps([e.to_dict() for e in result.errors]),
        "batches": 0,
        "batches_done": 0,
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "accepted": repr(time.time()),
    }
    if settings.min_replicas > 0:
        _store_replicated(client, settings, ingest_id, data, record)
    pipe = client.pipeline(transaction=True)
    pipe.multi()
    if settings.min_replicas > 0:
        pipe.zrem(keys.UNQUEUED, ingest_id)
    else:
        pipe.set(keys.dump(ingest_id), data)
        pipe.hset(keys.ingest(ingest_id), mapping=record)
    metrics.count_outcomes(pipe, {"rejected": len(result.errors)})
    _enqueue(client, pipe, settings, ingest_id, len(result.stories))
    pipe.execute()
    return Submission(ingest_id, len(result.stories), result.errors)


def _enqueue(
    client: redis.Redis, pipe: redis.client.Pipeline, settings: Settings, ingest_id: str, stories: int
) -> None:
    """Queue the ingest job of ``ingest_id`` on ``pipe`` (a MULTI): express for a small dump."""
    express = stories <= settings.express_max_stories
    Queue(keys.EXPRESS_QUEUE if express else keys.INGEST_QUEUE, connection=client).enqueue_call(
        keys.EXPRESS_JOB if express else keys.INGEST_JOB,
        args=(ingest_id,),
        job_id=f"ingest-{ingest_id}",
        pipeline=pipe,
        **job_options(settings),
    )


def _store_replicated(
    client: redis.Redis, settings: Settings, ingest_id: str, data: bytes, record: dict[str, Any]
) -> None:
    """Store the dump and its record, then ``WAIT`` for ``min_replicas`` replicas on the same
    connection (one round trip); undo and raise :class:`NotReplicated` if they do not confirm."""
    fields = [x for pair in record.items() for x in pair]
    pipe = client.pipeline(transaction=False)  # MULTI/EXEC spelled out: WAIT must follow EXEC
    pipe.execute_command("MULTI")
    pipe.execute_command("SET", keys.dump(ingest_id), data)
    pipe.execute_command("HSET", keys.ingest(ingest_id), *fields)
    pipe.execute_command("ZADD", keys.UNQUEUED, time.time(), ingest_id)
    pipe.execute_command("EXEC")
    pipe.execute_command("WAIT", settings.min_replicas, int(settings.replica_wait * 1000))
    acked = int(pipe.execute()[-1])
    if acked >= settings.min_replicas:
        return
    undo = client.pipeline(transaction=True)
    undo.delete(keys.dump(ingest_id), keys.ingest(ingest_id))
    undo.zrem(keys.UNQUEUED, ingest_id)
    undo.execute()
    raise NotReplicated(
        f"the dump reached {acked} of {settings.min_replicas} replicas within {settings.replica_wait} s"
    )


def enqueue_stranded(
    client: redis.Redis, settings: Settings, older_than: float = defaults.STRANDED_INGEST_SECONDS
) -> list[str]:
    """Queue the job of every dump in ``wf:unqueued`` stored more than ``older_than`` s ago
    (its web process lost the primary between replicating it and queueing it); return their ids.
    Each is taken out of the set in the MULTI that queues it, under WATCH, so it is queued once."""
    done = []
    for raw in client.zrangebyscore(keys.UNQUEUED, "-inf", time.time() - older_than):
        ingest_id = raw.decode()
        with client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(keys.UNQUEUED)
                if pipe.zscore(keys.UNQUEUED, ingest_id) is None:
                    continue
                stories = int(pipe.hget(keys.ingest(ingest_id), "stories") or 0)
                pipe.multi()
                pipe.zrem(keys.UNQUEUED, ingest_id)
                _enqueue(client, pipe, settings, ingest_id, stories)
                pipe.execute()
                done.append(ingest_id)
            except redis.WatchError:
                continue
    return done


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
    client: redis.Redis,
    ingest_id: str,
    timeout: float,
    *,
    poll: float = defaults.INGEST_POLL_SECONDS,
    on_progress: Callable[[Progress], None] | None = None,
    every: float = defaults.PROGRESS_SECONDS,
) -> Progress:
    """Block until the ingest is done (or ``timeout`` seconds pass); return its progress, also
    handed to ``on_progress`` at most every ``every`` seconds and at the end."""
    deadline = time.monotonic() + timeout
    shown = 0.0
    while True:
        state = progress(client, ingest_id)
        finished = state.done or time.monotonic() > deadline
        if on_progress is not None and (finished or time.monotonic() - shown >= every):
            on_progress(state)
            shown = time.monotonic()
        if finished:
            return state
        time.sleep(poll)

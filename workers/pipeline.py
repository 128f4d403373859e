"""The ingest pipeline, from a wire dump to current feeds.

In pseudocode (each step names the function that runs it)::

    submit(dump bytes, source)                        # API, CLI, inbox; in the caller's process
        parse_dump(bytes)                             #   whole-input errors -> InputRejected (400 / exit 2)
        SET wf:dump:<ingest>; HSET wf:ingest:<ingest> state=queued
        enqueue ingest_dump(ingest)                   #   -> ingest queue

    run_ingest(ingest)                                # ingest worker
        parsed = parse_dump(GET wf:dump:<ingest>)
        keep the first of each id (the first item of a dump is the newest)
        published = now - i ms for the i-th item    #   feed order follows the dump
        for each batch of BATCH_SIZE stories:
            SET wf:batch:<ingest>:<n>               #   the job carries ids, not objects
        enqueue categorize_batch(ingest, n) ...       #   -> categorize queue, one pipeline

    run_batch(ingest, n)                              # categorizer workers, any number
        previous = MGET the stored versions
        unchanged  = same content hash               #   re-ingest creates nothing, renders nothing
        changed    = categorizer.categorize_many(rest)
        touched    = store.save(changed)             #   one pipeline: stories + topic indexes
        publish(touched)                              #   render each touched feed once per batch
        HINCRBY wf:ingest:<ingest> new/updated/unchanged/batches_done; state=done at the last batch

Redis keys are spelled in :mod:`feeds.keys`; the rq job functions are in :mod:`workers.jobs`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from rq import Queue

from config.settings import Settings
from feeds import keys
from feeds.categorize import TaggingInput
from feeds.errors import InputRejected, WirefeedError
from feeds.ids import content_hash, story_id
from feeds.model import Block, ParsedStory, Story, from_millis
from feeds.parse import parse_dump
from feeds.publish import publish
from feeds.stories import build_story, summarise, tagging_text
from workers.context import WorkerContext


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
    batches: int
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
            "batches": self.batches,
            "batches_done": self.batches_done,
            "rejected": self.errors,
        }


class NoSuchIngest(WirefeedError):
    """An ingest id that is unknown or expired."""


# -- submitting ------------------------------------------------------------------------


def submit(client: redis.Redis, settings: Settings, data: bytes, source: str) -> Submission:
    """Check a dump, store it and queue its ingest. Raises :class:`InputRejected` for a bad dump."""
    result = parse_dump(data, max_bytes=settings.max_dump_bytes)
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
    Queue(keys.INGEST_QUEUE, connection=client).enqueue_call(
        "workers.jobs.ingest_dump",
        args=(ingest_id,),
        job_id=f"ingest-{ingest_id}",
        timeout=settings.job_timeout,
        result_ttl=settings.result_ttl,
        failure_ttl=7 * 86400,
    )
    return Submission(ingest_id, len(result.stories), result.errors)


def progress(client: redis.Redis, ingest_id: str) -> Progress:
    raw = {k.decode(): v.decode() for k, v in client.hgetall(keys.ingest(ingest_id)).items()}
    if not raw:
        raise NoSuchIngest(f"no ingest {ingest_id!r} (unknown or expired)")
    n = {k: int(raw.get(k, 0)) for k in ("stories", "new", "updated", "unchanged", "batches", "batches_done")}
    return Progress(state=raw["state"], errors=json.loads(raw.get("errors", "[]")), **n)


def wait(client: redis.Redis, ingest_id: str, timeout: float, poll: float = 0.02) -> Progress:
    """Block until the ingest is done (or ``timeout`` seconds pass); return its progress."""
    deadline = time.monotonic() + timeout
    while True:
        state = progress(client, ingest_id)
        if state.done or time.monotonic() > deadline:
            return state
        time.sleep(poll)


# -- ingest worker ---------------------------------------------------------------------


def run_ingest(ctx: WorkerContext, ingest_id: str) -> dict[str, int]:
    r, settings = ctx.redis, ctx.settings
    data = r.get(keys.dump(ingest_id))
    if data is None:  # already ingested (a re-run of a finished job): nothing to do
        return {"stories": 0, "batches": 0}
    result = parse_dump(data, max_bytes=settings.max_dump_bytes)
    now_ms = int(time.time() * 1000)
    seen: set[str] = set()
    items: list[dict[str, Any]] = []
    for parsed in result.stories:
        sid = story_id(parsed.agency or settings.default_agency, parsed.title)
        if sid in seen:
            continue
        seen.add(sid)
        items.append(_parsed_to_json(parsed, published_ms=now_ms - len(items)))
    batches = [items[i : i + settings.batch_size] for i in range(0, len(items), settings.batch_size)]
    source = (r.hget(keys.ingest(ingest_id), "source") or b"").decode()
    pipe = r.pipeline(transaction=True)
    for n, batch in enumerate(batches):
        pipe.set(keys.batch(f"{ingest_id}:{n}"), json.dumps({"source": source, "items": batch}))
    pipe.hset(
        keys.ingest(ingest_id),
        mapping={
            "state": "categorizing" if batches else "done",
            "batches": len(batches),
            "stories": len(items),
        },
    )
    pipe.delete(keys.dump(ingest_id))
    if not batches:
        pipe.expire(keys.ingest(ingest_id), settings.result_ttl)
    pipe.execute()
    queue = Queue(keys.CATEGORIZE_QUEUE, connection=r)
    queue.enqueue_many(
        [
            Queue.prepare_data(
                "workers.jobs.categorize_batch",
                args=(ingest_id, n),
                job_id=f"batch-{ingest_id}-{n}",
                timeout=settings.job_timeout,
                result_ttl=settings.result_ttl,
                failure_ttl=7 * 86400,
            )
            for n in range(len(batches))
        ]
    )
    return {"stories": len(items), "batches": len(batches)}


# -- categorizer workers ---------------------------------------------------------------


def run_batch(ctx: WorkerContext, ingest_id: str, batch_no: int) -> dict[str, int]:
    r, settings, store = ctx.redis, ctx.settings, ctx.store
    raw = r.get(keys.batch(f"{ingest_id}:{batch_no}"))
    if raw is None:  # already processed
        return {"new": 0, "updated": 0, "unchanged": 0}
    payload = json.loads(raw)
    source = payload["source"]
    parsed_items = [(_parsed_from_json(d), d["published"]) for d in payload["items"]]
    ids = [story_id(p.agency or settings.default_agency, p.title) for p, _ in parsed_items]
    previous = store.get_many(ids)

    todo = [
        (p, pub, old)
        for (p, pub), old in zip(parsed_items, previous, strict=True)
        if old is None or old.content_hash != content_hash(p)
    ]
    unchanged = len(parsed_items) - len(todo)
    tag_lists = ctx.categorizer.categorize_many(
        [
            TaggingInput(title=p.title, summary=summarise(p, settings.summary_chars), body=tagging_text(p))
            for p, _, _ in todo
        ]
    )
    now_ms = int(time.time() * 1000)
    stories: list[Story] = []
    olds: list[Story | None] = []
    for (parsed, published_ms, old), tags in zip(todo, tag_lists, strict=True):
        published: datetime = old.published if old else from_millis(published_ms)
        updated = from_millis(now_ms) if old else published
        stories.append(
            build_story(
                parsed,
                default_agency=settings.default_agency,
                published=published,
                updated=updated,
                source=old.source if old else source,
                topics=tuple(tags),
                summary_chars=settings.summary_chars,
            )
        )
        olds.append(old)
    touched = store.save(stories, olds, now_ms)
    publish(store, ctx.taxonomy, settings, touched)

    new = sum(1 for o in olds if o is None)
    counts = {"new": new, "updated": len(stories) - new, "unchanged": unchanged}
    _record_batch(r, settings, ingest_id, batch_no, counts)
    return counts


def _record_batch(
    r: redis.Redis, settings: Settings, ingest_id: str, batch_no: int, counts: dict[str, int]
) -> None:
    key = keys.ingest(ingest_id)
    pipe = r.pipeline(transaction=True)
    for name, value in counts.items():
        pipe.hincrby(key, name, value)
    pipe.hincrby(key, "batches_done", 1)
    pipe.hget(key, "batches")
    pipe.delete(keys.batch(f"{ingest_id}:{batch_no}"))
    *_, done, total, _deleted = pipe.execute()
    if total is not None and done >= int(total):
        r.hset(key, "state", "done")
        r.expire(key, settings.result_ttl)


# -- batch payloads --------------------------------------------------------------------


def _parsed_to_json(p: ParsedStory, published_ms: int) -> dict[str, Any]:
    return {
        "title": p.title,
        "kind": p.kind,
        "blocks": [[b.kind, b.text] for b in p.blocks],
        "author": p.author,
        "agency": p.agency,
        "line": p.line,
        "published": published_ms,
    }


def _parsed_from_json(d: dict[str, Any]) -> ParsedStory:
    return ParsedStory(
        title=d["title"],
        kind=d["kind"],
        blocks=tuple(Block(k, t) for k, t in d["blocks"]),
        author=d["author"],
        agency=d["agency"],
        line=d["line"],
    )

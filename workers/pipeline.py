"""The ingest pipeline, from a wire dump to current feeds.

In pseudocode (each step names the function that runs it)::

    submit(dump bytes, source)                        # API, CLI, inbox; in the caller's process
        parse_dump(bytes)                             #   whole-input errors -> InputRejected (400 / exit 2)
        SET wf:dump:<ingest>; HSET wf:ingest:<ingest> state=queued
        if stories <= EXPRESS_MAX_STORIES:
            enqueue express_ingest(ingest)            #   -> express queue: run_express, one job
        else:
            enqueue ingest_dump(ingest)               #   -> ingest queue

    run_express(ingest)                               # express worker: small dumps, whole
        run_ingest(ingest) without queueing, then run_batch(ingest, n) for each batch,
        without publish(): the web renders each touched feed on its first request

    run_ingest(ingest)                                # ingest worker
        parsed = parse_dump(GET wf:dump:<ingest>)
        stamps = advance wf:clock by len(parsed)      #   first item newest; never repeats or goes back
        groups = group_dump(parsed)                   #   exact repeats dropped; near-duplicate titles
                                                      #   (versions of one story) grouped, newest first
        for each batch of BATCH_SIZE groups:
            SET wf:batch:<ingest>:<n>               #   the job carries ids, not objects
        enqueue categorize_batch(ingest, n) ...       #   -> categorize queue, one pipeline

    run_batch(ingest, n)                              # categorizer workers, any number
        find each group's stored story: exact id, alias, else LSH buckets + Jaccard (feeds.near)
        fold the group's versions into it (feeds.versions.fold):
            same text seen before  -> unchanged        #   re-ingest creates nothing, renders nothing
            new text               -> new version      #   same id and guid, updated bumped, revision kept
        categorizer.categorize_many(stories whose text changed)
        MULTI                                         #   all or nothing, under WATCH of batch and stories
            store.queue_save(changes)                 #   stories, indexes, LSH buckets, topic stamps
            HSET wf:pendlog:<ingest> n (log entries, touched topics)
            HSET wf:recorded:<ingest> n counts; DEL wf:batch:<ingest>:<n>
        _RECORD (Lua)                                 #   counts -> wf:ingest:<ingest>, batches_done += 1
            at the last batch:                        #   the ingest completes, atomically:
                RPUSH every batch's log entries, in batch order (same logs whatever the batching)
                move the touched topics' stamps on; state=publishing, touched=[...]
        finish(ingest) if this batch completed it     #   (or a re-run finds it still publishing)
            publish(touched)                          #   render each touched feed once per ingest
            websub.notify(touched)                    #   push to subscribers (rq jobs)
            state=done

Between a batch's save and its ingest's completion a reader sees the new stories in the topic
indexes (pages, and the newest ``feed_limit`` of a feed, which the web renders again when its
topic's stamp is newer than the stored document); the change logs, and with them archive pages,
``since`` cursors and older stories in a current feed, grow when the ingest completes.

Redis keys are spelled in :mod:`feeds.keys`; the rq job functions are in :mod:`workers.jobs`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import redis
from rq import Queue

from config.settings import Settings
from feeds import keys, near
from feeds.categorize import TaggingInput
from feeds.errors import InputRejected, WirefeedError
from feeds.model import Block, Story, TopicTag, from_micros, new_parsed_story, to_micros
from feeds.parse import parse_dump
from feeds.publish import publish
from feeds.store import StoryChange, StoryStore
from feeds.stories import build_story
from feeds.versions import Incoming, fold, group_dump, near_keys
from workers.context import WorkerContext
from workers.websub import notify as websub_notify


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
    express = len(result.stories) <= settings.express_max_stories
    Queue(keys.EXPRESS_QUEUE if express else keys.INGEST_QUEUE, connection=client).enqueue_call(
        "workers.jobs.express_ingest" if express else "workers.jobs.ingest_dump",
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
    n = {
        k: int(raw.get(k, 0))
        for k in ("stories", "new", "updated", "unchanged", "failed", "batches", "batches_done")
    }
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
    """Split a dump into batches and queue a categorizer job for each."""
    stories, batches = _split(ctx, ingest_id)
    _enqueue_batches(ctx, ingest_id, batches)
    return {"stories": stories, "batches": len(batches)}


def run_express(ctx: WorkerContext, ingest_id: str) -> dict[str, int]:
    """A small dump, whole: split it and run its batches here, one after another."""
    stories, batches = _split(ctx, ingest_id)
    counts: dict[str, int] = {"stories": stories, "batches": len(batches)}
    for n in batches:
        for name, value in run_batch(ctx, ingest_id, n, render=False).items():
            counts[name] = counts.get(name, 0) + value
    finish(ctx, ingest_id, render=False)  # a re-run after dying in finish() has no batch left
    return counts


def _split(ctx: WorkerContext, ingest_id: str) -> tuple[int, list[int]]:
    """Parse, stamp and group a dump and store its batches; the story count and the numbers of
    the batches still waiting (a re-run after a crash finds the dump gone and its batches stored)."""
    r, settings = ctx.redis, ctx.settings
    data = r.get(keys.dump(ingest_id))
    if data is None:  # split before: the batches not yet stored by a categorizer
        total = int(r.hget(keys.ingest(ingest_id), "batches") or 0)
        pipe = r.pipeline(transaction=False)
        for n_batch in range(total):
            pipe.exists(keys.batch(f"{ingest_id}:{n_batch}"))
        return 0, [n for n, there in enumerate(pipe.execute()) if there]
    result = parse_dump(data, max_bytes=settings.max_dump_bytes)
    n = len(result.stories)
    last = ctx.store.advance_clock(n, now_micros()) if n else 0
    incoming = [
        Incoming(p, p.agency or settings.default_agency, from_micros(last - i))
        for i, p in enumerate(result.stories)
    ]
    groups = [[_incoming_to_json(item) for item in group] for group in group_dump(incoming)]
    size = settings.batch_size
    batches = [groups[i : i + size] for i in range(0, len(groups), size)]
    source = (r.hget(keys.ingest(ingest_id), "source") or b"").decode()
    pipe = r.pipeline(transaction=True)
    for n_batch, batch in enumerate(batches):
        pipe.set(keys.batch(f"{ingest_id}:{n_batch}"), json.dumps({"source": source, "groups": batch}))
    pipe.hset(
        keys.ingest(ingest_id),
        mapping={
            "state": "categorizing" if batches else "done",
            "batches": len(batches),
            "stories": len(groups),
        },
    )
    pipe.delete(keys.dump(ingest_id))
    if not batches:
        pipe.expire(keys.ingest(ingest_id), settings.result_ttl)
    pipe.execute()
    return len(groups), list(range(len(batches)))


def _enqueue_batches(ctx: WorkerContext, ingest_id: str, batches: list[int]) -> None:
    if not batches:
        return
    settings = ctx.settings
    Queue(keys.CATEGORIZE_QUEUE, connection=ctx.redis).enqueue_many(
        [
            Queue.prepare_data(
                "workers.jobs.categorize_batch",
                args=(ingest_id, n_batch),
                job_id=f"batch-{ingest_id}-{n_batch}",
                timeout=settings.job_timeout,
                result_ttl=settings.result_ttl,
                failure_ttl=7 * 86400,
            )
            for n_batch in batches
        ]
    )


# -- categorizer workers ---------------------------------------------------------------


MAX_ATTEMPTS = 10
"""Times a batch is re-read and re-tried when another worker changed one of its stories."""

_RECORD = """
-- KEYS: ingest progress hash, recorded counts hash, pending log hash
-- ARGV: batch number, result TTL, now (µs), change-log key prefix, topic meta key prefix
local counts = redis.call('HGET', KEYS[2], ARGV[1])
if not counts then return {'again'} end
redis.call('HDEL', KEYS[2], ARGV[1])
for name, value in pairs(cjson.decode(counts)) do redis.call('HINCRBY', KEYS[1], name, value) end
local done = redis.call('HINCRBY', KEYS[1], 'batches_done', 1)
local total = tonumber(redis.call('HGET', KEYS[1], 'batches') or '0')
if done < total then return {'counted'} end
local pending = {}
local raw = redis.call('HGETALL', KEYS[3])
for i = 1, #raw, 2 do pending[tonumber(raw[i])] = raw[i + 1] end
local seen, touched = {}, {}
for n = 0, total - 1 do
  if pending[n] then
    local batch = cjson.decode(pending[n])
    for _, slug in ipairs(batch.touched) do
      if not seen[slug] then seen[slug] = true; touched[#touched + 1] = slug end
    end
    for _, pair in ipairs(batch.log) do
      local entries = pair[2]
      for i = 1, #entries, 1000 do
        redis.call('RPUSH', ARGV[4] .. pair[1], unpack(entries, i, math.min(i + 999, #entries)))
      end
    end
  end
end
redis.call('DEL', KEYS[3])
local now = tonumber(ARGV[3])
for _, slug in ipairs(touched) do
  local c = tonumber(redis.call('HGET', ARGV[5] .. slug, 'changed') or '0')
  if now <= c then now = c + 1 end
end
for _, slug in ipairs(touched) do redis.call('HSET', ARGV[5] .. slug, 'changed', now) end
redis.call('HSET', KEYS[1], 'state', 'publishing', 'touched', cjson.encode(touched))
return {'done', unpack(touched)}
"""


def run_batch(ctx: WorkerContext, ingest_id: str, batch_no: int, *, render: bool = True) -> dict[str, int]:
    """Tag and store one batch, exactly once however often it runs; the batch that completes
    its ingest appends the ingest's change-log entries and publishes its topics.

    The stories are written in one MULTI/EXEC that also deletes the batch and notes its counts
    and log entries, under WATCH of the batch and of every story it touches: if another worker
    changes one of them first, the batch is read again and re-done; if this worker dies at any
    point, a re-run either does everything or finds the batch gone and only finishes the
    bookkeeping (which, at the last batch, completes the ingest).
    """
    r, settings = ctx.redis, ctx.settings
    batch_key = keys.batch(f"{ingest_id}:{batch_no}")
    for _ in range(MAX_ATTEMPTS):
        with r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(batch_key)
                raw = pipe.get(batch_key)
                if raw is None:  # stored already (perhaps by a worker that died before counting)
                    break
                payload = json.loads(raw)
                groups = [[_incoming_from_json(d) for d in g] for g in payload["groups"]]
                pipe.watch(*{keys.story(i.exact_id) for g in groups for i in g})
                stored = _find_stored(ctx.store, groups)
                found = {keys.story(s.id) for s in stored if s is not None}
                if found:
                    pipe.watch(*found)
                plan = _plan(ctx, payload, groups, stored)
                pipe.multi()
                saved = ctx.store.queue_save(pipe, plan.changes, now_micros())
                pending = {"touched": sorted(saved.touched), "log": list(saved.log.items())}
                pipe.hset(keys.pending_log(ingest_id), str(batch_no), json.dumps(pending))
                for n, entry in plan.poisoned.items():
                    pipe.hset(keys.POISON, f"{ingest_id}:{batch_no}:{n}", json.dumps(entry))
                pipe.hset(keys.recorded(ingest_id), str(batch_no), json.dumps(plan.counts))
                pipe.delete(batch_key)
                pipe.execute()
            except redis.WatchError:
                continue
        break
    else:
        raise WirefeedError(f"batch {ingest_id}:{batch_no} conflicted {MAX_ATTEMPTS} times in a row")
    counts = json.loads(r.hget(keys.recorded(ingest_id), str(batch_no)) or "{}")
    outcome, *_ = r.register_script(_RECORD)(
        keys=[keys.ingest(ingest_id), keys.recorded(ingest_id), keys.pending_log(ingest_id)],
        args=[str(batch_no), settings.result_ttl, now_micros(), keys.topic_log(""), keys.topic_meta("")],
    )
    if outcome in (b"done", b"again"):  # again: perhaps a re-run after dying while publishing
        finish(ctx, ingest_id, render=render)
    return counts


def finish(ctx: WorkerContext, ingest_id: str, *, render: bool = True) -> None:
    """Publish the topics of an ingest whose stories are all stored and logged, tell WebSub
    subscribers, and mark it done (a no-op unless the ingest is in state ``publishing``).

    ``render=False`` (the express path) leaves rendering to the first request for each feed
    (the web renders a document older than its topic and stores it), so a burst of small
    ingests does not wait behind renders of documents nobody may fetch before the next one.
    """
    r = ctx.redis
    state, touched_json = r.hmget(keys.ingest(ingest_id), "state", "touched")
    if state != b"publishing":
        return
    touched = list(json.loads(touched_json or "[]"))  # Lua's cjson writes an empty list as {}
    if render:
        publish(ctx.store, ctx.taxonomy, ctx.settings, touched)
    websub_notify(r, ctx.settings, touched)
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.ingest(ingest_id), "state", "done")
    pipe.hdel(keys.ingest(ingest_id), "touched")
    pipe.expire(keys.ingest(ingest_id), ctx.settings.result_ttl)
    pipe.execute()


@dataclass
class _Plan:
    changes: list[StoryChange]
    counts: dict[str, int]
    poisoned: dict[int, dict[str, Any]]


def _plan(
    ctx: WorkerContext, payload: dict[str, Any], groups: list[list[Incoming]], stored: list[Story | None]
) -> _Plan:
    """What a batch changes: folded versions, categorized; stories the categorizer fails on are
    set aside (poisoned) with their error, the rest goes on."""
    settings = ctx.settings
    new_story = partial(build_story, summary_chars=settings.summary_chars)
    folds = [
        fold(
            group,
            found,
            canonical_id=found.id if found else group[-1].exact_id,
            source=payload["source"],
            new_story=new_story,
        )
        for group, found in zip(groups, stored, strict=True)
    ]
    retag = [n for n, f in enumerate(folds) if f.story is not None and f.text_changed]
    results = _categorize_isolated(ctx, [TaggingInput.from_story(folds[n].story) for n in retag])  # type: ignore[arg-type]
    tags = dict(zip(retag, results, strict=True))
    plan = _Plan(changes=[], counts={"new": 0, "updated": 0, "unchanged": 0, "failed": 0}, poisoned={})
    for n, (f, group) in enumerate(zip(folds, groups, strict=True)):
        result = tags.get(n)
        if isinstance(result, BaseException):
            plan.counts["failed"] += 1
            plan.poisoned[n] = {
                "source": payload["source"],
                "title": group[0].parsed.title,
                "error": f"{type(result).__name__}: {result}",
                "group": [_incoming_to_json(i) for i in group],
            }
            continue
        plan.counts[f.outcome] += 1
        if f.story is None:
            continue
        story = replace(f.story, topics=tuple(result)) if result is not None else f.story
        titles = list(dict.fromkeys([story.title, *(item.parsed.title for item in group)]))
        plan.changes.append(
            StoryChange(
                story=story,
                previous=f.previous,
                superseded=tuple(f.superseded),
                aliases=tuple({i.exact_id for i in group} - {story.id}),
                near_keys=near_keys(story.agency or settings.default_agency, titles),
                log=f.text_changed,
            )
        )
    return plan


def _categorize_isolated(ctx: WorkerContext, items: list[TaggingInput]) -> list[list[TopicTag] | Exception]:
    """Categorize a batch; if that raises, one by one, so one bad story fails alone."""
    try:
        return list(ctx.categorizer.categorize_many(items))
    except Exception:
        out: list[list[TopicTag] | Exception] = []
        for item in items:
            try:
                out.append(ctx.categorizer.categorize(item))
            except Exception as exc:
                out.append(exc)
        return out


def _find_stored(store: StoryStore, groups: list[list[Incoming]]) -> list[Story | None]:
    """The stored story each group is a version of: by exact id or alias, else by near title."""
    flat = [item.exact_id for g in groups for item in g]
    resolved = store.resolve_aliases(flat)
    by_id = store.stories_by_id(resolved)
    found: list[Story | None] = []
    pos = 0
    for g in groups:
        ids = resolved[pos : pos + len(g)]
        pos += len(g)
        found.append(next((by_id[i] for i in ids if i in by_id), None))
    # Near matches for the rest, in two more round trips.
    lookups = [
        (gi, near_keys(g[0].agency, [item.parsed.title for item in g]))
        for gi, g in enumerate(groups)
        if found[gi] is None
    ]
    entries = [e for _, ks in lookups for e in ks]
    if not entries:
        return found
    hits = iter(store.near_candidates(entries))
    per_group = [(gi, {h for h in (next(hits) for _ in ks) if h}) for gi, ks in lookups]
    candidates = store.stories_by_id(i for _, ids in per_group for i in ids)
    for gi, ids in per_group:
        group = groups[gi]
        options = [
            (c.id, c.title) for i in sorted(ids) if (c := candidates.get(i)) and c.agency == group[0].agency
        ]
        best = None
        for item in group:
            best = near.best_match(item.parsed.title, options)
            if best:
                break
        found[gi] = candidates[best] if best else None
    return found


# -- batch payloads --------------------------------------------------------------------


def _incoming_to_json(item: Incoming) -> dict[str, Any]:
    p = item.parsed
    return {
        "title": p.title,
        "kind": p.kind,
        "blocks": [[b.kind, b.text] for b in p.blocks],
        "author": p.author,
        "agency": item.agency,
        "line": p.line,
        "stamp": to_micros(item.stamp),
        "lsh": item.buckets,  # computed by group_dump already: the categorizer need not again
    }


def _incoming_from_json(d: dict[str, Any]) -> Incoming:
    parsed = new_parsed_story(
        d["title"], d["kind"], tuple(Block(k, t) for k, t in d["blocks"]), d["author"], d["agency"], d["line"]
    )
    if (lsh := d.get("lsh")) is not None:
        near.remember_buckets(d["title"], lsh)
    return Incoming(parsed, d["agency"], from_micros(d["stamp"]))


def now_micros() -> int:
    return time.time_ns() // 1000

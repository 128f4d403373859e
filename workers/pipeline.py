"""The ingest pipeline, from a wire dump to current feeds.

In pseudocode (each step names the function, and the module, that runs it)::

    submit(dump bytes, source)                        # feeds.queue.ingests; in the caller's process
        parse_dump(bytes)                             #   (API, CLI, inbox); whole-input errors ->
                                                      #   InputRejected (400 / exit 2)
        SET wf:dump:<ingest>; HSET wf:ingest:<ingest> state=queued
        if stories <= EXPRESS_MAX_STORIES:
            enqueue express_ingest(ingest)            #   -> express queue: run_express, one job
        else:
            enqueue ingest_dump(ingest)               #   -> ingest queue

    run_express(ingest)                               # express worker: small dumps, whole
        run_ingest(ingest) without queueing, then run_batch(ingest, n) for each batch,
        without publish(): the web renders each touched feed on its first request

    run_ingest(ingest)                                # ingest worker
        split(ingest)                                 # workers.split
            parsed = parse_dump(GET wf:dump:<ingest>)
            stamps = advance wf:clock by len(parsed)  #   first item newest; never repeats or goes back
            groups = group_dump(parsed)               #   exact repeats dropped; near-duplicate titles
                                                      #   (versions of one story) grouped, newest first
            for each batch of BATCH_SIZE groups:
                SET wf:batch:<ingest>:<n>             #   JSON, feeds.queue.payload; the job
                                                      #   carries ids, not objects
        enqueue_batches(ingest, batches)              #   categorize_batch(ingest, n) ... -> categorize
                                                      #   queue, one round trip

    run_batch(ingest, n)                              # categorizer workers, any number
        find_stored: each group's stored story        # workers.lookup
            exact id, alias, else LSH buckets + Jaccard (feeds.identity.near), same agency,
            within the near window, no identity rule against any of its titles (feeds.identity.rules)
        plan_batch: fold the group's versions into it (feeds.identity.versions.fold):  # workers.plan
            same text seen before  -> unchanged        #   re-ingest creates nothing, renders nothing
            new text               -> new version      #   same id and guid, updated bumped, revision kept
            categorizer.categorize_many(stories whose text changed)
        lookup.catch_up()                             #   no lock: stories stored since the lookup
                                                      #   (wf:nearrecent) that take new groups ->
                                                      #   adopt, plan again; the mark moves past them
        store.prepare_save(changes)                   #   JSON and merged writes, before the lock
        take the commit lock                          # workers.commit_lock: one batch commits at a time
        WATCH the found stories; lookup.recheck()     #   a found story changed -> plan again; stories
                                                      #   stored since the catch-up (usually none)
                                                      #   that take new groups -> WATCH, adopt, plan again
        MULTI                                         #   all or nothing, under WATCH of batch and stories
            store.queue_save(prepared)                #   stories, indexes, LSH buckets, topic stamps
            note_stored                               # workers.record
                HSET wf:pendlog:<ingest> n (log entries, touched topics)
                HSET wf:poison <ingest>:<n>:<i> (stories the categorizer failed on)
                HSET wf:recorded:<ingest> n counts
            DEL wf:batch:<ingest>:<n>, the commit lock
        request_purge(story-<id> of every stored change)   # feeds.render.cdn (WIREFEED_PURGE_URL)
        count: _RECORD (Lua)                          # workers.record
            counts -> wf:ingest:<ingest>, batches_done += 1
            at the last batch: _COMPLETE (Lua)        #   the ingest completes, atomically, once:
                RPUSH every batch's log entries, in batch order (same logs whatever the batching)
                move the touched topics' stamps on; state=publishing, touched=[...]
        finish(ingest) if this batch completed it     #   (or a re-run finds it still publishing)
            publish(touched)                          #   render each touched feed once per ingest
            hub.notify(touched)                       #   feeds.websub.hub: push to subscribers (rq jobs)
            request_purge(topic-<slug> of touched)    #   feeds.render.cdn: CDN purge (rq job)
            state=done
            count now - accepted in wf:metrics:served, once  # feeds.store.metrics
            maybe_schedule retention                  #   workers.retention: at most hourly, queued

Between a batch's save and its ingest's completion a reader sees the new stories in the topic
indexes (pages, and the newest ``feed_limit`` of a feed, which the web renders again when its
topic's stamp is newer than the stored document); the change logs, and with them archive pages,
``since`` cursors and older stories in a current feed, grow when the ingest completes.

Redis keys, queue names and job names are spelled in :mod:`wirefeed.feeds.store.keys`; the rq job
functions are in :mod:`wirefeed.workers.jobs`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import redis

from wirefeed.config import defaults
from wirefeed.errors import WirefeedError
from wirefeed.feeds.queue.payload import Batch, decode_batch
from wirefeed.feeds.render import cdn
from wirefeed.feeds.render.publish import publish
from wirefeed.feeds.store import keys, metrics
from wirefeed.feeds.websub import hub
from wirefeed.workers import clock, record, retention
from wirefeed.workers.commit_lock import CommitLock
from wirefeed.workers.context import WorkerContext
from wirefeed.workers.lookup import Lookup, find_stored
from wirefeed.workers.plan import Plan, Tags, plan_batch
from wirefeed.workers.split import enqueue_batches, split

log = logging.getLogger(__name__)


def run_ingest(ctx: WorkerContext, ingest_id: str) -> dict[str, int]:
    """Split a dump into batches and queue a categorizer job for each."""
    stories, batches = split(ctx, ingest_id)
    enqueue_batches(ctx, ingest_id, batches)
    return {"stories": stories, "batches": len(batches)}


def run_express(ctx: WorkerContext, ingest_id: str) -> dict[str, int]:
    """A small dump, whole: split it and run its batches here, one after another."""
    stories, batches = split(ctx, ingest_id)
    counts: dict[str, int] = {"stories": stories, "batches": len(batches)}
    for n in batches:
        for name, value in run_batch(ctx, ingest_id, n, render=False).items():
            counts[name] = counts.get(name, 0) + value
    finish(ctx, ingest_id, render=False)  # a re-run after dying in finish() has no batch left
    return counts


def run_batch(
    ctx: WorkerContext,
    ingest_id: str,
    batch_no: int,
    *,
    render: bool = True,
    before_catch_up: Callable[[], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Tag and store one batch, exactly once however often it runs; the batch that completes
    its ingest appends the ingest's change-log entries and publishes its topics.

    The stories are written in one MULTI/EXEC that also deletes the batch and notes its counts
    and log entries, under WATCH of the batch and of every story it touches, and under the
    commit lock, with the lookup caught up after the plan and re-checked under the lock
    (:mod:`.lookup`): if another worker changed a story the batch read, the batch is planned
    again; if it stored a story one of the batch's new groups is a version of, that story is
    taken and the plan made again (either way with the categorizer results kept); if this
    worker dies at any point, a re-run either does everything or finds the batch gone and only
    finishes the bookkeeping (which, at the last batch, completes the ingest).
    ``before_catch_up`` runs between the plan and the catch-up, ``before_commit`` between the
    catch-up and the commit (tests run another worker's batch there).
    """
    r = ctx.redis
    batch_key = keys.batch(f"{ingest_id}:{batch_no}")
    poisoned: dict[int, dict[str, object]] = {}
    changed: list[str] = []
    tags: Tags = {}
    lock = CommitLock(r)
    for _ in range(defaults.BATCH_MAX_ATTEMPTS):
        with r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(batch_key)
                raw = pipe.get(batch_key)
                if raw is None:  # stored already (perhaps by a worker that died before counting)
                    break
                batch = decode_batch(raw)
                pipe.watch(*{keys.story(i.exact_id) for g in batch.groups for i in g})
                planned = _look_up_and_plan(ctx, batch, tags, before_catch_up)
                if planned is None:  # a story the catch-up found is gone already
                    continue
                lookup, plan = planned
                prepared = ctx.store.prepare_save(plan.changes, clock.now_micros())
                if before_commit is not None:
                    before_commit()
                lock.acquire()
                try:
                    final = _under_lock(ctx, pipe, lock, batch=batch, lookup=lookup, plan=plan, tags=tags)
                    if final is None:  # plan the batch again
                        lock.release()
                        continue
                    if final is not plan:  # stories stored meanwhile were adopted
                        plan, prepared = final, ctx.store.prepare_save(final.changes, clock.now_micros())
                    pipe.multi()
                    saved = ctx.store.queue_save(pipe, prepared, clock.now_micros())
                    record.note_stored(pipe, ingest_id, batch_no, saved, plan)
                    pipe.delete(batch_key, lock.KEY)
                    pipe.execute()
                except BaseException:
                    lock.release()
                    raise
                poisoned = plan.poisoned
                changed = [e.rpartition(":")[0] for e in saved.log.get(keys.ALL_TOPIC, [])]
            except redis.WatchError:
                continue
        break
    else:
        raise WirefeedError(
            f"batch {ingest_id}:{batch_no} conflicted {defaults.BATCH_MAX_ATTEMPTS} times in a row"
        )
    for entry in poisoned.values():
        log.warning(
            "story set aside: %s",
            entry["error"],
            extra={"event": "story_set_aside", "ingest_id": ingest_id, "title": entry["title"]},
        )
    if changed:
        cdn.request_purge(r, ctx.settings, [cdn.story_key(i) for i in changed])
    counts, complete = record.count(r, ingest_id, batch_no)
    if complete:
        finish(ctx, ingest_id, render=render)
    return counts


def _look_up_and_plan(
    ctx: WorkerContext, batch: Batch, tags: Tags, before_catch_up: Callable[[], None] | None
) -> tuple[Lookup, Plan] | None:
    """Find each group's stored story, plan the batch, and catch the lookup up with the stories
    stored meanwhile (planning again if they take new groups); ``None``: plan it all again."""
    lookup = find_stored(ctx.store, batch.groups)
    plan = plan_batch(ctx, batch.source, batch.groups, lookup.stories, tags)
    if before_catch_up is not None:
        before_catch_up()
    caught = lookup.catch_up(ctx.store, batch.groups)
    if caught:
        if not lookup.adopt(ctx.store, caught):
            return None
        plan = plan_batch(ctx, batch.source, batch.groups, lookup.stories, tags)
    return lookup, plan


def _under_lock(
    ctx: WorkerContext,
    pipe: redis.client.Pipeline,
    lock: CommitLock,
    *,
    batch: Batch,
    lookup: Lookup,
    plan: Plan,
    tags: Tags,
) -> Plan | None:
    """With the commit lock: WATCH the lock and the found stories and re-check the lookup; the
    plan to commit (made again if stories stored since take new groups), or ``None`` to plan
    the whole batch again."""
    pipe.watch(lock.KEY, *lookup.watch_keys())
    matches = lookup.recheck(ctx.store, batch.groups)
    if not matches:
        return None if matches is None else plan
    pipe.watch(*(keys.story(i) for i in matches.values()))  # stories stored since the lookup
    if not lookup.adopt(ctx.store, matches):
        return None
    return plan_batch(ctx, batch.source, batch.groups, lookup.stories, tags)


def finish(ctx: WorkerContext, ingest_id: str, *, render: bool = True) -> None:
    """Publish the topics of an ingest whose stories are all stored and logged, tell WebSub
    subscribers, and mark it done (a no-op unless the ingest is in state ``publishing``).

    ``render=False`` (the express path) leaves rendering to the first request for each feed
    (the web renders a document older than its topic and stores it), so a burst of small
    ingests does not wait behind renders of documents nobody may fetch before the next one.
    """
    r = ctx.redis
    state, touched_json, accepted = r.hmget(keys.ingest(ingest_id), "state", "touched", "accepted")
    if state != b"publishing":
        return
    touched = list(json.loads(touched_json or "[]"))  # Lua's cjson writes an empty list as {}
    if render:
        publish(ctx.store, ctx.taxonomy, ctx.settings, touched)
    hub.notify(r, ctx.settings, touched)
    cdn.request_purge(r, ctx.settings, [cdn.topic_key(slug) for slug in touched])
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.ingest(ingest_id), "state", "done")
    pipe.hdel(keys.ingest(ingest_id), "touched")
    pipe.expire(keys.ingest(ingest_id), ctx.settings.result_ttl)
    pipe.execute()
    if accepted is not None:  # served: in every feed (express: rendered at the first request)
        seconds = max(0.0, time.time() - float(accepted))
        if metrics.observe_served(r, ingest_id, seconds):
            log.info(
                "ingest done",
                extra={"event": "ingest_done", "ingest_id": ingest_id, "seconds": round(seconds, 3)},
            )
    retention.maybe_schedule(r, ctx.settings)

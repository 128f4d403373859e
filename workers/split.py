"""The ingest job's work: a stored dump split into stamped, grouped batches, queued for the
categorizers (see the pseudocode in :mod:`wirefeed.workers.pipeline`)."""

from __future__ import annotations

from rq import Queue

from wirefeed.feeds.identity.versions import Incoming, group_dump
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.queue.payload import encode_batch, incoming_to_json
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.model import from_micros
from wirefeed.feeds.stories.parse import parse_dump
from wirefeed.workers import clock
from wirefeed.workers.context import WorkerContext


def split(ctx: WorkerContext, ingest_id: str) -> tuple[int, list[int]]:
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
    last = ctx.store.advance_clock(n, clock.now_micros()) if n else 0
    incoming = [
        Incoming(p, p.agency or settings.default_agency, from_micros(last - i))
        for i, p in enumerate(result.stories)
    ]
    groups = [[incoming_to_json(item) for item in group] for group in group_dump(incoming)]
    size = settings.batch_size
    batches = [groups[i : i + size] for i in range(0, len(groups), size)]
    source = (r.hget(keys.ingest(ingest_id), "source") or b"").decode()
    pipe = r.pipeline(transaction=True)
    for n_batch, batch in enumerate(batches):
        pipe.set(keys.batch(f"{ingest_id}:{n_batch}"), encode_batch(source, batch))
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


def enqueue_batches(ctx: WorkerContext, ingest_id: str, batches: list[int]) -> None:
    """Queue a categorizer job for each of these batches, in one round trip."""
    if not batches:
        return
    Queue(keys.CATEGORIZE_QUEUE, connection=ctx.redis).enqueue_many(
        [
            Queue.prepare_data(
                keys.CATEGORIZE_JOB,
                args=(ingest_id, n_batch),
                job_id=f"batch-{ingest_id}-{n_batch}",
                **job_options(ctx.settings),
            )
            for n_batch in batches
        ]
    )

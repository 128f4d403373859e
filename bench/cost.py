"""``python -m bench.cost``: CPU cost of each step of the ingest pipeline, in one process.

Runs the shipped pipeline functions in-process against a Redis of its own (no rq, no HTTP):
``ingests.submit`` then ``run_ingest`` then ``run_batch`` for every batch, with the steps
wrapped to add up their CPU time (``time.process_time``) and wall time. CPU time of this process
does not depend on what else the machine runs, so these numbers stay comparable on a shared
machine where the end-to-end figures of ``python -m bench`` move with the load.

Prints per step: CPU ms per 1,000 stories, its share, and wall ms (wall - CPU ~ waiting for
Redis). Steps that the pipeline no longer calls under the same name are simply not listed.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.gen import generate
from bench.stack import temp_workdir
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.render import publish as publish_mod
from wirefeed.feeds.store.connection import connect
from wirefeed.redis_server import EmbeddedRedis
from wirefeed.workers import context, pipeline, plan, split

CPU: dict[str, float] = defaultdict(float)
WALL: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
_ACTIVE: list[str] = []


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` adding its own CPU and wall time to ``name`` (time in nested timed steps excluded)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        _ACTIVE.append(name)
        try:
            return fn(*args, **kwargs)
        finally:
            _ACTIVE.pop()
            dc, dw = time.process_time() - c0, time.perf_counter() - w0
            CPU[name] += dc
            WALL[name] += dw
            CALLS[name] += 1
            if _ACTIVE:  # the caller's own time excludes this step
                CPU[_ACTIVE[-1]] -= dc
                WALL[_ACTIVE[-1]] -= dw

    return wrapper


def _wrap(obj: object, attr: str, name: str) -> None:
    fn = getattr(obj, attr, None)
    if callable(fn):
        setattr(obj, attr, timed(name, fn))


def _binary() -> str | None:
    """The redis-server ``WIREFEED_REDIS_SERVER`` names (as ``wirefeed up`` reads it), if any."""
    return os.environ.get("WIREFEED_REDIS_SERVER") or None


def instrument(ctx: context.WorkerContext) -> None:
    _wrap(ingests, "parse_dump", "parse the dump (submit + ingest job)")
    _wrap(split, "parse_dump", "parse the dump (submit + ingest job)")
    _wrap(pipeline, "publish", "publish: Redis reads and writes")
    _wrap(publish_mod, "render", "publish: render feeds (RSS, Atom, JSON)")
    _wrap(publish_mod, "make_doc", "publish: ETag + headers")
    _wrap(ctx.categorizer, "categorize_many", "categorize")
    _wrap(ctx.store, "get_many", "store: read previous versions / pages (MGET + JSON)")
    _wrap(ctx.store, "prepare_save", "store: a batch's writes (JSON + merged per key)")
    _wrap(ctx.store, "queue_save", "store: queue a batch's writes (commands)")
    _wrap(plan, "build_story", "build Story records")
    _wrap(split, "group_dump", "group near-duplicate titles of the dump (ingest job)")
    _wrap(pipeline, "find_stored", "find stored versions (ids, aliases, LSH buckets)")
    _wrap(plan, "fold", "fold versions into stored stories")
    _wrap(plan, "near_keys", "near-duplicate keys of saved stories")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.splitlines()[0])
    p.add_argument("--stories", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=None, help="default: the shipped default")
    args = p.parse_args(argv)
    data = generate(args.stories, 1)
    with temp_workdir() as workdir, EmbeddedRedis(workdir / "redis", persist=False, binary=_binary()) as srv:
        settings = Settings(redis_url=srv.url)
        if args.batch_size:
            settings = settings.with_(batch_size=args.batch_size)
        client = connect(srv.url)
        ctx = context.build(settings, client)
        instrument(ctx)
        c0, w0 = time.process_time(), time.perf_counter()
        sub = ingests.submit(client, settings, data, source="cost")
        result = pipeline.run_ingest(ctx, sub.ingest_id)
        for n in range(result["batches"]):
            pipeline.run_batch(ctx, sub.ingest_id, n)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    per = 1000 / args.stories
    print(
        f"{args.stories:,} stories, {result['batches']} batches of {settings.batch_size}: "
        f"{cpu:.2f} s CPU, {wall:.2f} s wall in one process = "
        f"{args.stories / cpu:,.0f} stories per CPU-second"
    )
    print("\n| step | calls | CPU ms / 1,000 stories | share of CPU | wall ms / 1,000 stories |")
    print("|---|---|---|---|---|")
    rest_cpu, rest_wall = cpu - sum(CPU.values()), wall - sum(WALL.values())
    for name in sorted(CPU, key=lambda k: -CPU[k]):
        print(
            f"| {name} | {CALLS[name]} | {CPU[name] * 1000 * per:,.0f} | {100 * CPU[name] / cpu:.0f}% "
            f"| {WALL[name] * 1000 * per:,.0f} |"
        )
    print(
        f"| everything else (rq-free glue, JSON of batches, progress) | | {rest_cpu * 1000 * per:,.0f} "
        f"| {100 * rest_cpu / cpu:.0f}% | {rest_wall * 1000 * per:,.0f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

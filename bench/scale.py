"""Scenario 4: does serving or ingest slow down as the store grows?

With ``scale_small`` (1,000) and then ``scale_large`` (200,000) stories stored:

- feed latency: ``wrk -t1 -c1`` on ``/feeds/<topic>.atom`` (p50), and throughput ``wrk -t2 -c32``;
- ingest rate of a fresh dump of ``scale_ingest`` stories (all new), end to end as in scenario 1
  (at the small size the store is reset to ``scale_small`` stories before every run).

The large store is filled through the real pipeline (dumps of 20,000 new stories); before the
measurements at each size Redis rewrites its AOF and the kernel writes it back
(:meth:`Scale.settle`), so that no rewrite lands inside a measurement by chance. Then Redis
memory per stored story (``used_memory`` growth / stories, and ``MEMORY USAGE`` of headline
stories plus their share of the topic indexes), and the peak RSS (``VmHWM``) of the web and
worker processes over the whole bench run.
"""

from __future__ import annotations

import json
import os
import time

import redis

from bench.client import post_dump, wait_feeds_current, wait_ingest
from bench.gen import generate
from bench.harness import Harness
from bench.report import Row, median
from bench.serving import wrk
from bench.stack import peak_rss_mb
from wirefeed.feeds.store import keys

PREFILL_DUMP = 20_000


def _serial(n: int) -> int:
    """First title serial of the n-th generated dump of this scenario (titles never collide)."""
    return 10_000_000 * (n + 1)


class Scale:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.dumps = 0

    def dump(self, stories: int) -> bytes:
        self.dumps += 1
        return generate(stories, 500 + self.dumps, repeat=0.0, first_serial=_serial(self.dumps))

    def fill_to(self, target: int) -> None:
        """Ingest new stories through the pipeline until at least ``target`` are stored.

        (A few generated titles are near-duplicates of stored ones and become versions of them,
        so the store may need a second, small round.)
        """
        h = self.h
        for _ in range(5):
            missing = target - h.stored()
            if missing <= 0:
                break
            ids = []
            while missing > 0:
                n = min(PREFILL_DUMP, missing + 50)
                ids.append(post_dump(h.web, self.dump(n)))
                missing -= n
            for ingest_id in ids:
                wait_ingest(h.r, ingest_id, timeout=h.plan.ingest_timeout * 3)
        wait_feeds_current(h.web, h.r, h.slugs, timeout=60)

    def settle(self, *, rewrite: bool, timeout: float = 300.0) -> None:
        """Let Redis's persistence settle before a measurement: wait for any AOF rewrite or
        snapshot in progress, with ``rewrite`` start one and wait for it too, then flush the
        kernel's dirty pages (``sync``).

        Filling the store sets off AOF rewrites (a forked child copying the whole dataset, and
        the rewritten file written back to disk afterwards) whenever the file has
        doubled since the last one: without this, one lands inside a measurement at one size and
        not at the other, by chance. After a rewrite the file must double again before the next,
        which the measurements never make it do.
        """
        r = self.h.r
        busy = ("aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress")

        def wait_idle() -> None:
            while time.monotonic() < deadline:
                info = r.info("persistence")
                if not any(int(info.get(k, 0)) for k in busy):
                    return
                time.sleep(0.2)
            self.h.say(f"scenario 4: Redis still busy persisting after {timeout:.0f} s; measuring anyway")

        deadline = time.monotonic() + timeout
        wait_idle()
        if rewrite and int(r.info("persistence").get("aof_enabled", 0)):
            try:
                r.bgrewriteaof()
            except redis.ResponseError as exc:  # one started by itself meanwhile: as good
                if "already in progress" not in str(exc):
                    raise
            time.sleep(0.2)
            wait_idle()
        os.sync()  # the rewritten file's pages, written back now rather than during a measurement

    def serving(self) -> tuple[list[float], list[float], list[float]]:
        """Per run: feed p50 ms at 1 connection, feed req/s at 32, topic page p50 ms at 1."""
        self.settle(rewrite=True)
        plan, port = self.h.plan, self.h.stack.web_port
        feed, page = f"/feeds/{plan.topic}.atom", f"/topics/{plan.topic}"
        secs = plan.scale_wrk_seconds
        p50s, rpss, pages = [], [], []
        for _ in range(plan.runs):
            p50s.append(wrk(port, feed, seconds=secs, connections=1, threads=1).p50_ms)
            conns, threads = plan.wrk_connections, plan.wrk_threads
            rpss.append(wrk(port, feed, seconds=secs, connections=conns, threads=threads).rps)
            pages.append(wrk(port, page, seconds=secs, connections=1, threads=1).p50_ms)
        return p50s, rpss, pages

    def ingest_rate(self, stories: int) -> float:
        return stories / self.h.ingest(self.dump(stories))


def _memory(h: Harness, used_before: int) -> tuple[float, float, float, float]:
    """(bytes per story from used_memory, headline key, article key, index bytes per story)."""
    r = h.r
    stored = h.stored()
    used = int(r.info("memory")["used_memory"])
    per_story = (used - used_before) / stored if stored else 0.0
    sample = [i.decode() for i in r.zrandmember(keys.topic_index(keys.ALL_TOPIC), 4000) or []]
    raws = r.mget([keys.story(i) for i in sample])
    pipe = r.pipeline(transaction=False)
    kinds = []
    for sid, raw in zip(sample, raws, strict=True):
        if raw:
            kinds.append(json.loads(raw)["kind"])
            pipe.memory_usage(keys.story(sid), samples=0)
    sizes = pipe.execute()
    head = [s for k, s in zip(kinds, sizes, strict=True) if k == "headline" and s]
    art = [s for k, s in zip(kinds, sizes, strict=True) if k == "article" and s]
    pipe = r.pipeline(transaction=False)
    for slug in h.slugs:
        pipe.memory_usage(keys.topic_index(slug), samples=0)
    index = sum(int(x or 0) for x in pipe.execute())
    return (
        per_story,
        sum(head) / len(head) if head else 0.0,
        sum(art) / len(art) if art else 0.0,
        index / stored if stored else 0.0,
    )


def run(h: Harness) -> list[Row]:
    plan = h.plan
    s = Scale(h)

    small_rates = []
    for _ in range(plan.runs):
        h.stack.reset()
        s.fill_to(plan.scale_small)
        s.settle(rewrite=True)
        small_rates.append(s.ingest_rate(plan.scale_ingest))
    h.stack.reset()
    s.fill_to(plan.scale_small)
    small_runs = s.serving()
    small_p50, small_rps, small_page = (median(x) or 0.0 for x in small_runs)
    h.say(
        f"scenario 4: {h.stored():,} stored: feed p50 {small_p50:.2f} ms, {small_rps:,.0f} req/s, "
        f"topic page p50 {small_page:.2f} ms; "
        f"ingest {', '.join(f'{x:,.0f}' for x in small_rates)} stories/s"
    )

    h.stack.reset()
    used_before = int(h.r.info("memory")["used_memory"])
    t0 = time.perf_counter()
    s.fill_to(plan.scale_large)
    fill_secs = time.perf_counter() - t0
    h.say(f"scenario 4: filled the store to {h.stored():,} stories in {fill_secs:.0f} s")
    per_story, head_key, art_key, index_share = _memory(h, used_before)
    big_runs = s.serving()
    big_p50, big_rps, big_page = (median(x) or 0.0 for x in big_runs)
    big_rates = []
    for _ in range(plan.runs):
        s.settle(rewrite=False)
        big_rates.append(s.ingest_rate(plan.scale_ingest))
    h.say(
        f"scenario 4: {h.stored():,} stored: feed p50 {big_p50:.2f} ms, {big_rps:,.0f} req/s, "
        f"topic page p50 {big_page:.2f} ms; "
        f"ingest {', '.join(f'{x:,.0f}' for x in big_rates)} stories/s"
    )

    web_rss = peak_rss_mb(h.stack.pids("web"))
    worker_rss = peak_rss_mb(h.stack.pids("ingest-worker") + h.stack.pids("categorizer"))
    small, large = f"{plan.scale_small:,} stored", f"{plan.scale_large:,} stored"
    rows = [
        Row("4", f"feed latency p50 (1 connection), {large}", big_p50, "ms", small, small_p50, "≤ 1.2x"),
        Row("4", f"feed throughput (32 connections), {large}", big_rps, "req/s", small, small_rps, "≥ 0.83x"),
        Row("4", f"topic page /topics/{plan.topic} p50 (1 connection), {large}", big_page, "ms", small,
            small_page, "≤ 1.2x"),
        Row(
            "4", f"ingest rate, {plan.scale_ingest:,} new stories, {large}", median(big_rates), "stories/s",
            small, median(small_rates), "≥ 0.67x (≤ 1.5x slower)",
            samples=big_rates, baseline_samples=small_rates,
        ),
        Row("4", "Redis memory per headline story (key + index entries)", head_key + index_share, "B",
            target="< 2,048 B"),
        Row("4", "Redis memory per stored story (used_memory growth / stories)", per_story, "B"),
        Row("4", "web peak RSS (largest gunicorn process)", web_rss, "MiB"),
        Row("4", "worker peak RSS (largest rq worker process)", worker_rss, "MiB"),
    ]  # fmt: skip
    for i in range(3):
        rows[i].samples, rows[i].baseline_samples = big_runs[i], small_runs[i]
    rows[0].met = rows[0].ratio is not None and rows[0].ratio <= 1.2
    rows[1].met = rows[1].ratio is not None and rows[1].ratio >= 1 / 1.2
    rows[2].met = rows[2].ratio is not None and rows[2].ratio <= 1.2
    rows[2].note = "the page reads the store itself (ZREVRANGE + MGET of 50 stories, ZCARD of every topic)"
    rows[3].met = rows[3].ratio is not None and rows[3].ratio >= 1 / 1.5
    rows[4].met = head_key + index_share < 2048
    rows[4].note = (
        f"headline story key {head_key:,.0f} B (MEMORY USAGE), article key {art_key:,.0f} B, "
        f"topic index entries {index_share:,.0f} B per story; filling {plan.scale_large:,} stories "
        f"through the pipeline took {fill_secs:.0f} s"
    )
    rows[6].note = "VmHWM over the whole bench run (every scenario), largest single process"
    return rows

"""What every scenario works with: the running stack, the plan, clients, and timed ingests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis

from bench.client import Http, post_dump, wait_feeds_current, wait_ingest
from bench.plan import Plan
from bench.stack import Stack, all_slugs
from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys


@dataclass
class Harness:
    stack: Stack
    plan: Plan
    r: redis.Redis = field(init=False)
    web: Http = field(init=False)
    slugs: list[str] = field(init=False)
    settings: Settings = field(init=False)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.r = self.stack.client()
        self.web = Http(self.stack.web_port)
        self.slugs = all_slugs()
        self.settings = Settings(redis_url=self.stack.redis_url)

    def say(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.log.append(line)

    # -- the shipped pipeline --------------------------------------------------------------
    def ingest(self, data: bytes, *, check_feeds: bool = True, web: Http | None = None) -> float:
        """POST a dump to the shipped stack; seconds until it is done and every feed is current."""
        web = web or self.web
        t0 = time.perf_counter()
        ingest_id = post_dump(web, data)
        wait_ingest(self.r, ingest_id, self.plan.ingest_timeout)
        if check_feeds:
            wait_feeds_current(web, self.r, self.slugs, timeout=60)
        return time.perf_counter() - t0

    def stored(self) -> int:
        return int(self.r.zcard(keys.topic_index(keys.ALL_TOPIC)))

    # -- which design's workers run ---------------------------------------------------------
    def use_baseline(self) -> None:
        """Replace the shipped workers by the obvious design's (:mod:`bench.baseline_rq`), and
        restart the web server without the express path (every dump to the ingest queue)."""
        from bench import baseline_rq

        self.stack.stop_workers()
        self.stack.stop_child("web")
        self.stack.start_web(**baseline_rq.ENV)
        self.stack.start_baseline_workers()

    def use_shipped(self) -> None:
        self.stack.stop_workers()
        self.stack.stop_child("web")
        self.stack.start_web()
        self.stack.start_workers()

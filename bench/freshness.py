"""Scenario 3: freshness, from ``POST /api/ingest`` returning to the story being in its topic feed.

A probe posts a one-headline dump with a new title, and from the moment the POST returns polls
``/feeds/<topic>.atom`` on the web server (conditional GETs, so an unchanged feed costs a 304)
until the story's id is in it. ``<topic>`` is the first topic the project's categorizer gives
the headline. Probes run one after another:

- **idle**: with ``serve_stories`` stories stored and nothing else running;
- **under load**: while scenario 1's full dump is being ingested (started just before).

Baseline: the obvious design (:mod:`bench.baseline_rq`), idle, measured the same way.
Each figure is the median over runs of that run's percentile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench.client import Http, post_dump
from bench.gen import DumpGenerator, generate
from bench.harness import Harness
from bench.report import Row, median, percentile
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.ids import story_id

POLL_IDLE = 0.002
POLL_LOADED = 0.01
PROBE_TIMEOUT = 120.0


class Prober:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.poster = Http(h.stack.web_port)
        self.poller = Http(h.stack.web_port)
        self.categorizer = build_categorizer(Taxonomy.load(h.settings.topics_path))
        self.gen = DumpGenerator(seed=7_000 + h.plan.seed)
        self.count = 0
        self.last_submit: object = None
        self.last_return = 0.0
        self.trace: list[tuple[str, float, float]] = []
        """(ingest id, wall time the POST returned, wall time the story was seen) of shipped probes."""

    def _headline(self) -> tuple[str, str, str]:
        self.count += 1
        title = f"{self.gen.title()} probe {time.time_ns()}-{self.count}"
        topic = self.categorizer.categorize(TaggingInput(title=title, summary=title))[0].slug
        return title, topic, story_id(self.h.settings.default_agency, title)

    def probe(self, submit: Callable[[bytes], object], poll: float) -> float:
        """Seconds from ``submit`` returning to the story being in its topic's Atom feed over HTTP."""
        title, topic, sid = self._headline()
        path = f"/feeds/{topic}.atom"
        etag = self.poller.get(path).headers.get("etag", "")
        needle = f":story:{sid}<".encode()
        self.last_submit = submit(title.encode() + b"\n")
        self.last_return = time.time()
        t0 = time.perf_counter()
        deadline = time.monotonic() + PROBE_TIMEOUT
        while time.monotonic() < deadline:
            resp = self.poller.get(path, {"If-None-Match": etag} if etag else None)
            if resp.status == 200:
                if needle in resp.body:
                    return time.perf_counter() - t0
                etag = resp.headers.get("etag", "")
            time.sleep(poll)
        raise TimeoutError(f"probe {title!r} not in {path} after {PROBE_TIMEOUT} s")

    def shipped(self, poll: float) -> float:
        secs = self.probe(lambda data: post_dump(self.poster, data), poll)
        self.trace.append((str(self.last_submit), self.last_return, time.time()))
        return secs

    def breakdown(self, since: int = 0) -> str:
        """Median time of each step of the shipped probes ``trace[since:]``, from rq's job records."""
        steps: dict[str, list[float]] = {}
        for ingest_id, returned, seen in self.trace[since:]:
            ing = _job_times(self.h, f"ingest-{ingest_id}")
            if ing is None:
                continue
            bat = _job_times(self.h, f"batch-{ingest_id}-0")
            if bat is None:  # the express path: one job for the whole ingest
                parts = [
                    ("POST returned -> express job starts", returned, ing[0]),
                    ("express job starts -> seen over HTTP", ing[0], seen),
                    ("express job (split, categorize, save)", ing[0], ing[1]),
                ]
            else:
                parts = [
                    ("POST returned -> ingest job starts", returned, ing[0]),
                    ("ingest job", ing[0], ing[1]),
                    ("-> categorize job starts", ing[1], bat[0]),
                    ("categorize job starts -> seen over HTTP", bat[0], seen),
                    ("categorize job (categorize, save, publish)", bat[0], bat[1]),
                ]
            for name, a, b in parts:
                steps.setdefault(name, []).append((b - a) * 1000)
        return "; ".join(f"{k} {median(v) or 0:.1f} ms" for k, v in steps.items())


def run(h: Harness) -> list[Row]:
    plan = h.plan
    prober = Prober(h)
    stored = generate(plan.serve_stories, plan.seed + 3)

    idle_p50: list[float] = []
    idle_p99: list[float] = []
    loaded_p50: list[float] = []
    loaded_p99: list[float] = []
    base_p50: list[float] = []
    base_p99: list[float] = []
    loaded_n = []
    breakdowns: list[str] = []
    big = generate(plan.stories, plan.seed)
    for n in range(plan.runs):
        h.stack.reset()  # the same store for every run: serve_stories stored, the big dump all new
        h.ingest(stored)
        for _ in range(3):  # warm-up: first requests of each gunicorn worker, first jobs of each worker
            prober.shipped(POLL_IDLE)
        first = len(prober.trace)
        times = [prober.shipped(POLL_IDLE) * 1000 for _ in range(plan.fresh_probes)]
        idle_p50.append(percentile(times, 50) or 0)
        idle_p99.append(percentile(times, 99) or 0)
        h.say(f"scenario 3 run {n + 1}: idle: p50 {idle_p50[-1]:.1f} ms, p99 {idle_p99[-1]:.1f} ms")
        breakdowns.append(prober.breakdown(first))
        h.say(f"scenario 3 run {n + 1}: idle, median of each step: {breakdowns[-1]}")

        loaded = _under_load(h, prober, big)
        loaded_n.append(len(loaded))
        loaded_p50.append(percentile(loaded, 50) or 0)
        loaded_p99.append(percentile(loaded, 99) or 0)
        h.say(
            f"scenario 3 run {n + 1}: under load ({plan.stories:,}-story ingest): {len(loaded)} probes, "
            f"p50 {loaded_p50[-1]:.0f} ms, p99 {loaded_p99[-1]:.0f} ms"
        )

    h.stack.reset()
    h.ingest(stored)  # with the shipped workers: the obvious design would take minutes to store it
    h.use_baseline()
    try:
        for _ in range(2):  # warm-up
            prober.shipped(POLL_IDLE)
        for n in range(plan.runs):
            times = [prober.shipped(POLL_IDLE) * 1000 for _ in range(plan.fresh_baseline_probes)]
            base_p50.append(percentile(times, 50) or 0)
            base_p99.append(percentile(times, 99) or 0)
            h.say(
                f"scenario 3 run {n + 1}: obvious design idle: "
                f"p50 {base_p50[-1]:.1f} ms, p99 {base_p99[-1]:.1f} ms"
            )
    finally:
        h.use_shipped()

    base = "obvious design, idle"
    rows = [
        Row("3", "freshness idle, p50", median(idle_p50), "ms", f"{base}, p50", median(base_p50),
            "< 50 ms", samples=idle_p50, baseline_samples=base_p50),
        Row("3", "freshness idle, p99", median(idle_p99), "ms", f"{base}, p99", median(base_p99),
            "< 250 ms", samples=idle_p99, baseline_samples=base_p99),
        Row("3", "freshness under load (scenario 1 ingest), p99", median(loaded_p99), "ms",
            f"{base}, p99", median(base_p99), "< 2,000 ms", samples=loaded_p99),
    ]  # fmt: skip
    limits = (50, 250, 2000)
    for row, limit in zip(rows, limits, strict=True):
        row.met = row.value is not None and row.value < limit
    rows[0].note = (
        f"{plan.fresh_probes} idle probes per run with {plan.serve_stories:,} stories stored; "
        f"obvious design: {plan.fresh_baseline_probes} probes per run. Where the time goes (first run, "
        f"medians from rq's job records): {breakdowns[0] if breakdowns else 'n/a'}"
    )
    rows[2].note = f"probes per loaded run: {loaded_n}; p50 under load per run: " + ", ".join(
        f"{v:,.0f} ms" for v in loaded_p50
    )
    return rows


def _job_times(h: Harness, job_id: str) -> tuple[float, float] | None:
    started, ended = h.r.hmget(f"rq:job:{job_id}", "started_at", "ended_at")
    if not started or not ended:
        return None
    return _utc(started.decode()), _utc(ended.decode())


def _utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _under_load(h: Harness, prober: Prober, big: bytes) -> list[float]:
    """Probe (milliseconds each) while a big dump is ingested; stop when it is done."""
    done = threading.Event()
    failure: list[BaseException] = []

    def load() -> None:
        web = Http(h.stack.web_port)
        try:
            h.ingest(big, check_feeds=False, web=web)
        except BaseException as exc:  # reported below
            failure.append(exc)
        finally:
            web.close()
            done.set()

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    time.sleep(0.05)  # the dump's POST is on its way: the probe queues behind it
    times: list[float] = []
    deadline = time.monotonic() + h.plan.ingest_timeout
    while not done.is_set() and time.monotonic() < deadline:
        times.append(prober.shipped(POLL_LOADED) * 1000)
    thread.join(h.plan.ingest_timeout)
    if failure:
        raise failure[0]
    return times

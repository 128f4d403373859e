"""``/metrics``: Prometheus metrics of the whole service, served by the web.

Two sources, one page:

- the web processes' own counters (feed responses by status and format), kept by
  prometheus-client; under gunicorn in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up
  and wiped by ``wirefeed serve``, dead workers marked by :mod:`wirefeed.services.gunicorn_conf`),
  so a scrape sums every gunicorn worker;
- everything the workers count, read from Redis at scrape time (:class:`RedisCollector`): stories
  by outcome, time from ingest accepted to served, categorizer time per batch, WebSub deliveries,
  queue depth and oldest job, failed jobs, live workers, and whether Redis answers at all.
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
import time
from collections.abc import Iterator, Mapping

import redis
from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from wirefeed.config import defaults
from wirefeed.feeds.queue.workers import live_workers, queue_stats, serving
from wirefeed.feeds.render.formats import FORMATS
from wirefeed.feeds.store import keys
from wirefeed.feeds.store import metrics as stored

bp = Blueprint("metrics", __name__)

FEED_FORMATS = (*FORMATS, "negotiated", "other")
"""``format`` label values of feed responses (``negotiated``: ``/feeds/<topic>`` without extension)."""


def feed_format(path: str, args: Mapping[str, str]) -> str:
    """The ``format`` label of a request for ``path`` (under ``/feeds/``) with query ``args``."""
    last = path.rsplit("/", 1)[-1]
    if "." in last:
        ext = last.rsplit(".", 1)[1]
        return ext if ext in FORMATS else "other"
    fmt = args.get("format")
    if fmt is None:
        return "negotiated"
    return fmt if fmt in FORMATS else "other"


def status_label(status: int) -> str:
    """``200`` and ``304`` as themselves, anything else by class (``2xx``, ``3xx``, ``4xx``, ``5xx``)."""
    return str(status) if status in (200, 304) else f"{status // 100}xx"


class RedisCollector(Collector):
    """The metrics kept in Redis (see :mod:`wirefeed.feeds.store.metrics`), read at each scrape."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("wirefeed_redis_up", "1 if Redis answered this scrape, else 0")
        try:
            families = list(self._from_redis())
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_redis(self) -> Iterator[Metric]:
        c = self.client
        c.ping()
        stories = CounterMetricFamily(
            "wirefeed_stories_ingested", "Ingested items by outcome", labels=["outcome"]
        )
        for outcome, n in stored.read_counts(c, keys.METRIC_STORIES, stored.OUTCOMES).items():
            stories.add_metric([outcome], n)
        yield stories
        for name, doc, key, buckets in (
            (
                "wirefeed_ingest_to_served_seconds",
                "Seconds from an ingest accepted to its stories in their current feeds, per ingest",
                keys.METRIC_SERVED,
                defaults.SERVED_BUCKETS,
            ),
            (
                "wirefeed_categorize_batch_seconds",
                "Seconds a categorizer took per batch of changed stories",
                keys.METRIC_CATEGORIZE,
                defaults.CATEGORIZE_BUCKETS,
            ),
        ):
            h = stored.read_histogram(c, key, buckets)
            family = HistogramMetricFamily(name, doc)
            family.add_metric([], h.buckets, h.sum)
            yield family
        websub = CounterMetricFamily(
            "wirefeed_websub_deliveries", "WebSub deliveries by result", labels=["result"]
        )
        for result, n in stored.read_counts(c, keys.METRIC_WEBSUB, stored.WEBSUB_RESULTS).items():
            websub.add_metric([result], n)
        yield websub
        depth = GaugeMetricFamily("wirefeed_queue_jobs", "Jobs waiting in an rq queue", labels=["queue"])
        age = GaugeMetricFamily(
            "wirefeed_queue_oldest_job_age_seconds",
            "Age of the oldest waiting job (0: none)",
            labels=["queue"],
        )
        failed = GaugeMetricFamily(
            "wirefeed_failed_jobs", "Jobs in an rq queue's failed registry", labels=["queue"]
        )
        live = GaugeMetricFamily(
            "wirefeed_live_workers", "Workers with a fresh heartbeat per queue", labels=["queue"]
        )
        workers = live_workers(c)
        for queue, s in queue_stats(c).items():
            depth.add_metric([queue], s.depth)
            age.add_metric([queue], s.oldest_age)
            failed.add_metric([queue], s.failed)
            live.add_metric([queue], len(serving(workers, queue)))
        yield from (depth, age, failed, live)


class WebMetrics:
    """The web process's own metrics and the page that shows them with the Redis-kept ones.

    Feed responses are the hot path (thousands a second): a response advances an in-memory
    ``itertools.count`` (atomic under the GIL, no lock), and a thread moves the sums into
    prometheus-client's counters every ``METRICS_FLUSH_SECONDS`` (and before this process shows a
    page), because a multiprocess counter's ``inc()`` takes a lock and writes its mmapped file
    each time (measured: 2.7 µs CPU per ``inc()``, against 0.3 µs here).
    """

    def __init__(self, client: redis.Redis, flush_seconds: float = defaults.METRICS_FLUSH_SECONDS) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))  # prometheus-client's own
        self.registry = CollectorRegistry(auto_describe=True)
        self.feed_responses = Counter(
            "wirefeed_feed_responses",
            "Feed responses by status (200, 304, 4xx, 5xx) and format",
            ["status", "format"],
            registry=self.registry,
        )
        self._children: dict[tuple[int, str], Counter] = {}
        self._pending: dict[tuple[int, str], itertools.count[int]] = {}
        self._flushed: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()
        self._flush_seconds = flush_seconds
        self._flusher: threading.Thread | None = None
        self.redis = RedisCollector(client)
        if not self.multiprocess:
            self.registry.register(self.redis)
        for fmt in FORMATS:  # the common series exist from the start, at 0
            for status in (200, 304):
                self._child(status, fmt)

    def _child(self, status: int, fmt: str) -> Counter:
        key = (status, fmt)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.feed_responses.labels(status_label(status), fmt)
        return child

    def count_feed(self, status: int, fmt: str) -> None:
        """One feed response: counted in memory, moved to the counters within a flush interval."""
        counter = self._pending.get((status, fmt))
        if counter is None:
            counter = self._pending.setdefault((status, fmt), itertools.count(1))
            self._start_flusher()  # here, not in __init__: gunicorn may fork after building the app
        next(counter)

    def flush(self) -> None:
        """Move the counts of this process's responses into the counters."""
        with self._lock:
            for key, counter in list(self._pending.items()):
                now = int(repr(counter)[6:-1]) - 1  # ``count(n)``: n is what ``next()`` returns next
                done = self._flushed.get(key, 0)
                if now > done:
                    self._child(*key).inc(now - done)
                    self._flushed[key] = now

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_loop, name="wirefeed-metrics", daemon=True)
            self._flusher.start()
        atexit.register(self.flush)

    def _flush_loop(self) -> None:
        while True:
            time.sleep(self._flush_seconds)
            self.flush()

    def page(self) -> bytes:
        self.flush()
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self.redis)
        return generate_latest(registry)


def web_metrics() -> WebMetrics:
    from flask import current_app

    return current_app.extensions["wirefeed-metrics"]


@bp.get("/metrics")
def metrics_page() -> Response:
    return Response(web_metrics().page(), 200, content_type=CONTENT_TYPE_LATEST)

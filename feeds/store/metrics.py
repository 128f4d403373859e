"""Metrics kept in Redis: counted by whichever process sees the event (API, CLI, workers), read
by the web's ``/metrics`` at scrape time, so web and workers need no shared folder or host.

Counting is per batch, never per story: the ingest worker's and categorizers' counts ride in the
MULTI that stores a batch (one ``HINCRBY`` per outcome), so a batch counts exactly once however
often it is re-run. Histograms are hashes of non-cumulative bucket counts (keyed by the bucket's
upper bound as Prometheus prints it), plus ``sum`` and ``count``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

OUTCOMES = ("new", "updated", "unchanged", "failed", "rejected", "withdrawn")
"""Outcomes of an ingested item: stored as a new story, a new version, the same text again, set
aside (the categorizer failed on it), refused alone at parse time, withdrawn by its agency."""

WEBSUB_RESULTS = ("delivered", "gone", "failed", "refused", "expired")
"""Results of a WebSub delivery: 2xx, 410 (unsubscribed), error (rq retries), callback not
allowed, lease ended."""

_OBSERVE_ONCE = """
-- KEYS: ingest hash, histogram hash; ARGV: bucket field, seconds
if redis.call('HSETNX', KEYS[1], 'observed', '1') == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HINCRBY', KEYS[2], 'count', 1)
redis.call('HINCRBYFLOAT', KEYS[2], 'sum', ARGV[2])
return 1
"""


def bucket_field(bound: float) -> str:
    """A bucket's upper bound as Prometheus prints ``le`` (``0.5``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _bucket(seconds: float, buckets: Sequence[float]) -> str:
    i = bisect.bisect_left(buckets, seconds)
    return bucket_field(buckets[i]) if i < len(buckets) else "+Inf"


def count_outcomes(pipe: redis.client.Pipeline, counts: Mapping[str, int]) -> None:
    """Queue on ``pipe`` one ``HINCRBY`` per outcome that happened (``counts``: outcome -> n)."""
    for outcome, n in counts.items():
        if n and outcome in OUTCOMES:
            pipe.hincrby(keys.METRIC_STORIES, outcome, n)


def observe(
    pipe: redis.client.Pipeline | redis.Redis, key: str, seconds: float, buckets: Sequence[float]
) -> None:
    """Add one observation of ``seconds`` to the histogram hash ``key``."""
    pipe.hincrby(key, _bucket(seconds, buckets), 1)
    pipe.hincrby(key, "count", 1)
    pipe.hincrbyfloat(key, "sum", seconds)


def observe_served(client: redis.Redis, ingest_id: str, seconds: float) -> bool:
    """Count an ingest's time from accepted to served, once per ingest (a re-run of its last
    step counts nothing); ``True`` if this call counted it."""
    field = _bucket(seconds, defaults.SERVED_BUCKETS)
    script = client.register_script(_OBSERVE_ONCE)
    return bool(script(keys=[keys.ingest(ingest_id), keys.METRIC_SERVED], args=[field, seconds]))


def count_websub(client: redis.Redis, result: str) -> None:
    client.hincrby(keys.METRIC_WEBSUB, result, 1)


@dataclass(frozen=True)
class Histogram:
    """A histogram read back: cumulative ``(le, count)`` pairs ending in ``+Inf``, sum, count."""

    buckets: list[tuple[str, int]]
    sum: float
    count: int


def read_counts(client: redis.Redis, key: str, labels: Sequence[str]) -> dict[str, int]:
    """Every label of ``labels`` (0 if never counted) -> its count in the hash ``key``."""
    raw = {k.decode(): int(v) for k, v in client.hgetall(key).items()}
    return {label: raw.get(label, 0) for label in labels}


def read_histogram(client: redis.Redis, key: str, buckets: Sequence[float]) -> Histogram:
    raw = {k.decode(): v for k, v in client.hgetall(key).items()}
    out, running = [], 0
    for field in [*(bucket_field(b) for b in buckets), "+Inf"]:
        running += int(raw.get(field, 0))
        out.append((field, running))
    return Histogram(out, float(raw.get("sum", 0)), int(raw.get("count", 0)))

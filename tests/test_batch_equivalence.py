"""Batching changes nothing: the same dump gives the same stories, topic indexes and feed bytes
whether a categorize job takes 500 stories or 1 (the obvious one-job-per-story design).

Proposed for ``tests/`` (see bench/RESULTS.md, "Correctness check"); pytest does not collect it
from bench/.
"""

from __future__ import annotations

import re

import pytest
import redis

from tests.conftest import SAMPLE, clean
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.render.formats import FORMATS
from wirefeed.feeds.store import keys
from wirefeed.workers import clock, context, pipeline, split

_FEED_DATE = re.compile(rb"<updated>[^<]*</updated>|<lastBuildDate>[^<]*</lastBuildDate>")
FIXED_NOW = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds


class _NoQueue:
    """Stands in for rq's Queue: the test runs the jobs itself, in order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def enqueue_call(self, *args: object, **kwargs: object) -> None:
        pass

    def enqueue_many(self, *args: object, **kwargs: object) -> None:
        pass

    @staticmethod
    def prepare_data(*args: object, **kwargs: object) -> None:
        return None


def no_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue nothing, neither on submitting nor on splitting: the test runs the jobs itself."""
    monkeypatch.setattr(ingests, "Queue", _NoQueue)
    monkeypatch.setattr(split, "Queue", _NoQueue)


def _ingest(client: redis.Redis, settings: Settings, data: bytes) -> dict[str, object]:
    clean(client)
    ctx = context.build(settings, client)
    sub = ingests.submit(client, settings, data, source="test")
    result = pipeline.run_ingest(ctx, sub.ingest_id)
    for n in range(result["batches"]):
        pipeline.run_batch(ctx, sub.ingest_id, n)
    slugs = [keys.ALL_TOPIC, *ctx.taxonomy.topics]
    stories = {k: client.get(k) for k in client.scan_iter(match=keys.story("*"))}
    indexes = {s: client.zrange(keys.topic_index(s), 0, -1, withscores=True) for s in slugs}
    docs = {(s, f): client.hgetall(keys.feed_doc(s, f)) for s in slugs for f in FORMATS}
    # What readers get, except the feed-level date: it follows the topic's change stamp, which
    # moves on (strictly) with every save, so more batches mean a later stamp by design.
    feeds = {k: _FEED_DATE.sub(b"", d.get(b"body", b""), count=1) for k, d in docs.items()}
    return {"stories": stories, "indexes": indexes, "feeds": feeds}


def test_batch_size_changes_no_story_topic_or_feed_byte(
    client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_queues(monkeypatch)
    monkeypatch.setattr(clock, "now_micros", lambda: FIXED_NOW)
    from bench.gen import generate

    data = SAMPLE.read_bytes() + b"\n-\n" + generate(120, seed=5)
    big = _ingest(client, settings.with_(batch_size=500, max_dump_bytes=10_000_000), data)
    one = _ingest(client, settings.with_(batch_size=1, max_dump_bytes=10_000_000), data)
    assert big["stories"] == one["stories"]
    assert big["indexes"] == one["indexes"]
    assert big["feeds"] == one["feeds"]

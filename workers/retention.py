"""The retention job: expire stories older than ``retention_days`` in small steps
(:mod:`wirefeed.feeds.store.retention`), then re-publish the feeds that changed.

Who runs it: every finished ingest (:func:`wirefeed.workers.pipeline.finish`) calls
:func:`maybe_schedule`, which queues one run on the ingest queue at most once per
``retention_interval`` (a ``SET NX EX`` marker), so a service that ingests runs retention about
hourly with no scheduler of its own; ``wirefeed expire`` runs it by hand. A run that reaches
``RETENTION_MAX_STEPS`` queues itself again, at the back of the queue, so ingests are never
held up behind a long expiry (e.g. the first run on a big old store).
"""

from __future__ import annotations

import redis
from rq import Queue

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.render.publish import publish
from wirefeed.feeds.store import keys, retention
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.workers import clock
from wirefeed.workers.context import current


def retention_job() -> dict[str, object]:
    """Ingest queue: one retention run (queued by :func:`maybe_schedule`)."""
    ctx = current()
    report = run_retention(ctx.store, ctx.taxonomy, ctx.settings, clock.now_micros())
    if not report.done:
        enqueue(ctx.redis, ctx.settings)
    return report.to_dict()


def run_retention(
    store: StoryStore,
    taxonomy: Taxonomy,
    settings: Settings,
    now_us: int,
    max_steps: int = defaults.RETENTION_MAX_STEPS,
    *,
    render: bool = True,
) -> retention.Report:
    """Expire what is past the horizon as of ``now_us`` and publish the topics that changed
    (``render=False``: leave that to the first request for each feed, as the express path does)."""
    report = retention.run(
        store,
        [keys.ALL_TOPIC, *taxonomy.topics],
        now_us=now_us,
        retention_days=settings.retention_days,
        tombstone_days=settings.tombstone_days,
        page_size=settings.archive_page_size,
        batch=defaults.RETENTION_BATCH,
        max_steps=max_steps,
        default_agency=settings.default_agency,
    )
    if report.touched and render:
        publish(store, taxonomy, settings, report.touched)
    return report


def enqueue(client: redis.Redis, settings: Settings) -> None:
    Queue(keys.INGEST_QUEUE, connection=client).enqueue_call(keys.RETENTION_JOB, **job_options(settings))


def maybe_schedule(client: redis.Redis, settings: Settings) -> None:
    """Queue a retention run unless one was queued in the last ``retention_interval`` seconds."""
    if settings.retention_days <= 0 and settings.tombstone_days <= 0:
        return
    if client.set(keys.RETENTION_QUEUED, 1, nx=True, ex=max(1, settings.retention_interval)):
        enqueue(client, settings)

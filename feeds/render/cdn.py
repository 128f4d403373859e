"""CDN-ready caching: the surrogate keys every feed and page response carries, and purges.

A response names what it shows as surrogate keys, sent twice: ``Surrogate-Key`` (Fastly, and
Varnish setups; space-separated) and ``Cache-Tag`` (Cloudflare; comma-separated):

- ``feeds`` on every feed document, ``pages`` on every HTML page, ``/topics`` and ``/opml``;
- ``topic-<slug>`` for each topic a feed or page shows (``topic-all``: the feed of every story,
  the home page, the topic list);
- ``story-<id>`` on a story's page.

After a publish the workers call :func:`request_purge` with the keys whose responses changed
(the touched topics, the changed stories); it queues a purge job (``WIREFEED_PURGE_URL`` gets a
POST of ``{"surrogate_keys": [...]}``) on the websub queue, whose worker sends it and retries it
with rq's scheduler. A purge never blocks or fails an ingest: without a CDN the responses'
``max-age`` bounds how stale a cache may be anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from rq import Queue, Retry

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.store import keys

log = logging.getLogger(__name__)

FEEDS = "feeds"
"""Key of every feed document."""

PAGES = "pages"
"""Key of every HTML page, ``/topics`` and ``/opml``."""


def topic_key(slug: str) -> str:
    return f"topic-{slug}"


def story_key(story_id: str) -> str:
    return f"story-{story_id}"


def headers(surrogate_keys: Iterable[str]) -> list[tuple[str, str]]:
    """The ``Surrogate-Key`` and ``Cache-Tag`` headers of a response showing ``surrogate_keys``."""
    names = list(dict.fromkeys(surrogate_keys))
    return [("Surrogate-Key", " ".join(names)), ("Cache-Tag", ",".join(names))]


def request_purge(client: redis.Redis, settings: Settings, surrogate_keys: Iterable[str]) -> list[str]:
    """Queue purges of ``surrogate_keys`` (at most ``PURGE_MAX_KEYS`` a request) if
    ``WIREFEED_PURGE_URL`` is set; return the ids of the purge jobs queued. A Redis error is
    logged, not raised: a missed purge costs at most a feed's ``max-age`` of staleness."""
    if not settings.purge_url:
        return []
    names = sorted(set(surrogate_keys))
    size = defaults.PURGE_MAX_KEYS
    chunks = [names[i : i + size] for i in range(0, len(names), size)]
    if not chunks:
        return []
    retry = Retry(max=len(defaults.PURGE_RETRY_INTERVALS), interval=list(defaults.PURGE_RETRY_INTERVALS))
    try:
        jobs = Queue(keys.WEBSUB_QUEUE, connection=client).enqueue_many(
            [
                Queue.prepare_data(
                    keys.PURGE_JOB,
                    args=(chunk,),
                    retry=retry,
                    **job_options(settings, timeout=defaults.WEBSUB_JOB_TIMEOUT),
                )
                for chunk in chunks
            ]
        )
    except redis.RedisError as exc:
        log.warning("purge of %d keys not queued: %s", len(names), exc)
        return []
    return [job.id for job in jobs]


def purge_change(
    client: redis.Redis, settings: Settings, story_ids: Iterable[str], slugs: Iterable[str]
) -> list[str]:
    """Queue purges after an editor's change outside an ingest (a withdrawal, a correction, a
    split or merge): the stories' pages and their topics' feeds, pages and archive pages."""
    return request_purge(client, settings, [*map(story_key, story_ids), *map(topic_key, slugs)])

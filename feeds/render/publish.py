"""Feed documents: what each feed holds, rendered once and stored as servable bytes.

Workers call :func:`publish` after every batch for the topics it touched; the web service
serves the stored bytes and renders only variants (filters, archives, ``since`` pages) on a
cache miss, through the same functions.

The current feed of a topic holds its newest ``feed_limit`` stories by publication time, plus
any story whose latest change is not yet in a full RFC 5005 archive page, so that the current
document and its ``prev-archive`` chain together hold every change (nothing is lost between two
polls, however rarely a client polls).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.render.formats import ALL_DESCRIPTION, ALL_TITLE, FeedInfo, feed_url, render
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import FeedDoc, StoryStore
from wirefeed.feeds.stories.model import Story, from_micros, to_micros

EMPTY_FEED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
"""``updated`` of a feed that never had a story (any fixed time keeps the bytes stable)."""


def hub_url(settings: Settings) -> str:
    return f"{settings.base_url}/websub"


def archive_url(settings: Settings, slug: str, page: int, fmt: str) -> str:
    return f"{settings.base_url}/feeds/{slug}/archive/{page}.{fmt}"


def topic_title(taxonomy: Taxonomy, slug: str) -> tuple[str, str]:
    if slug == keys.ALL_TOPIC:
        return ALL_TITLE, ALL_DESCRIPTION
    topic = taxonomy.get(slug)
    return topic.title, topic.description


def feed_info(settings: Settings, taxonomy: Taxonomy, slug: str, changed_us: int, **extra: Any) -> FeedInfo:
    """What a feed of ``slug`` says about itself; ``extra`` sets FeedInfo's optional fields."""
    title, description = topic_title(taxonomy, slug)
    return FeedInfo(
        slug=slug,
        title=f"{settings.feed_title}: {title}",
        description=description,
        base_url=settings.base_url,
        tag_authority=settings.tag_authority,
        updated=from_micros(changed_us) if changed_us else EMPTY_FEED_TIME,
        topic_titles={t.slug: t.title for t in taxonomy.topics.values()},
        mediatopics={t.slug: t.mediatopic for t in taxonomy.topics.values() if t.mediatopic},
        hub_url=hub_url(settings),
        **extra,
    )


def make_doc(body: bytes, changed_us: int, *, compress: bool = True) -> FeedDoc:
    """A servable document: strong ETag from the bytes, Last-Modified from the topic's change."""
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    when = from_micros(changed_us) if changed_us else EMPTY_FEED_TIME
    gz = gzip.compress(body, compresslevel=defaults.GZIP_LEVEL, mtime=0) if compress else None
    return FeedDoc(
        body=body, etag=etag, modified=format_datetime(when, usegmt=True), changed=changed_us, gz=gz
    )


def current_links(settings: Settings, slug: str, fmt: str, log_length: int) -> tuple[tuple[str, str], ...]:
    """RFC 5005 links of a topic's current feed: its newest full archive page, if any."""
    full_pages = log_length // settings.archive_page_size
    return (("prev-archive", archive_url(settings, slug, full_pages, fmt)),) if full_pages else ()


CURSOR_FORMATS = ("json", "ninjs")
"""Formats whose feeds carry the ``since`` cursor (and serve ``?since=`` pages)."""


def json_cursor(settings: Settings, slug: str, log_length: int, fmt: str = "json") -> dict[str, Any]:
    """The ``_wirefeed`` member of a JSON or ninjs feed: the cursor a poller passes as ``?since=``."""
    return {
        "_wirefeed": {
            "cursor": log_length,
            "since_url": f"{feed_url(settings.base_url, slug, fmt)}?since={log_length}",
        }
    }


def render_current(
    settings: Settings,
    taxonomy: Taxonomy,
    slug: str,
    fmt: str,
    *,
    stories: Sequence[Story],
    changed_us: int,
    log_length: int,
) -> FeedDoc:
    info = feed_info(
        settings,
        taxonomy,
        slug,
        changed_us,
        links=current_links(settings, slug, fmt, log_length),
        json_extra=json_cursor(settings, slug, log_length, fmt) if fmt in CURSOR_FORMATS else None,
    )
    return make_doc(render(fmt, info, stories), changed_us)


def current_stories(
    store: StoryStore, settings: Settings, slugs: Sequence[str]
) -> tuple[dict[str, list[Story]], dict[str, int]]:
    """Each topic's current-feed stories (newest first), then its withdrawn stories still in
    their tombstone period (``wf:gone:<slug>``, newest withdrawal first, rendered as
    tombstones), and its change-log length."""
    pages = store.pages(slugs, settings.feed_limit)
    lengths = store.log_lengths(slugs)
    size = settings.archive_page_size
    unarchived = {slug: store.log_entries(slug, (n // size) * size, size) for slug, n in lengths.items()}
    gone = store.gone_ids(slugs, defaults.FEED_MAX_LIMIT)
    have = {slug: {s.id for s in pages[slug]} for slug in slugs}
    missing = {sid for slug in slugs for _, sid, _ in unarchived[slug] if sid not in have[slug]}
    missing.update(sid for ids in gone.values() for sid in ids)
    extra = store.stories_by_id(missing) if missing else {}
    out = {}
    for slug in slugs:
        more = [extra[sid] for _, sid, _ in unarchived[slug] if sid not in have[slug] and sid in extra]
        live = pages[slug] + list({s.id: s for s in more if not s.withdrawn}.values())
        tombs = [extra[sid] for sid in gone[slug] if sid in extra and extra[sid].withdrawn]
        out[slug] = sorted(live, key=lambda s: to_micros(s.published), reverse=True) + tombs
    return out, lengths


def publish(
    store: StoryStore,
    taxonomy: Taxonomy,
    settings: Settings,
    slugs: Iterable[str],
    formats: Sequence[str] = defaults.PUBLISH_FORMATS,
) -> None:
    """Render the current feed of every topic in ``slugs`` in each of ``formats`` and store it
    (a format not rendered here is rendered by the web on its first request, as its stored
    document is then older than its topic)."""
    slugs = sorted(set(slugs))
    if not slugs:
        return
    changed = store.changed_many(slugs)
    stories, lengths = current_stories(store, settings, slugs)
    docs = {
        (slug, fmt): render_current(
            settings,
            taxonomy,
            slug,
            fmt,
            stories=stories[slug],
            changed_us=changed[slug],
            log_length=lengths[slug],
        )
        for slug in slugs
        for fmt in formats
    }
    store.put_feed_docs(docs)


def variant_digest(parts: Mapping[str, Any]) -> str:
    """Cache key of a normalised feed request."""
    text = "&".join(f"{k}={parts[k]}" for k in sorted(parts))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

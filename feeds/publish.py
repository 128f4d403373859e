"""Keeping rendered feed documents current: render each changed topic once, store the bytes.

Workers call :func:`publish` after every batch; the web service only serves stored bytes
(and renders once on a miss, e.g. a non-default ``?limit``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime

from config.settings import Settings
from feeds import keys
from feeds.model import Story, from_millis
from feeds.render import FORMATS, FeedInfo, render
from feeds.store import FeedDoc, StoryStore
from feeds.taxonomy import Taxonomy


def feed_info(settings: Settings, taxonomy: Taxonomy, slug: str, changed_ms: int) -> FeedInfo:
    if slug == keys.ALL_TOPIC:
        title, description = "All stories", "Every story wirefeed has, newest first."
    else:
        topic = taxonomy.get(slug)
        title, description = topic.title, topic.description
    return FeedInfo(
        slug=slug,
        title=f"{settings.feed_title}: {title}",
        description=description,
        base_url=settings.base_url,
        tag_authority=settings.tag_authority,
        updated=from_millis(changed_ms) if changed_ms else datetime(2026, 1, 1, tzinfo=UTC),
        topic_titles={t.slug: t.title for t in taxonomy.topics.values()},
    )


def make_doc(body: bytes, changed_ms: int) -> FeedDoc:
    """A servable document: strong ETag from the bytes, Last-Modified from the topic's change."""
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    when = from_millis(changed_ms) if changed_ms else datetime(2026, 1, 1, tzinfo=UTC)
    return FeedDoc(body=body, etag=etag, modified=format_datetime(when, usegmt=True), changed=changed_ms)


def render_doc(
    settings: Settings, taxonomy: Taxonomy, slug: str, fmt: str, *, stories: list[Story], changed_ms: int
) -> FeedDoc:
    return make_doc(render(fmt, feed_info(settings, taxonomy, slug, changed_ms), stories), changed_ms)


def publish(store: StoryStore, taxonomy: Taxonomy, settings: Settings, slugs: Iterable[str]) -> None:
    """Render the default feed of every topic in ``slugs`` in every format and store it."""
    slugs = sorted(set(slugs))
    if not slugs:
        return
    changed = store.changed_many(slugs)
    pages = store.pages(slugs, settings.feed_limit)
    docs = {
        (slug, fmt): render_doc(settings, taxonomy, slug, fmt, stories=pages[slug], changed_ms=changed[slug])
        for slug in slugs
        for fmt in FORMATS
    }
    store.put_feed_docs(docs)


def all_slugs(taxonomy: Taxonomy) -> list[str]:
    """Every feed wirefeed serves: ``all`` and each topic."""
    return [keys.ALL_TOPIC, *taxonomy.topics]

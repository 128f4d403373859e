"""The newsroom's actions on a stored story, end to end: withdraw it or correct it, then render
its topics' feeds again (:func:`wirefeed.feeds.render.publish.publish`, the path every ingest
takes, so whatever hooks publishing gets, a withdrawal gets too) and push them to WebSub
subscribers (:func:`wirefeed.feeds.websub.hub.notify`) and purge a CDN's copies
(:func:`wirefeed.feeds.render.cdn.purge_change`).

Called by the API (:mod:`wirefeed.services.newsroom_api`) and the CLI
(:mod:`wirefeed.newsroom_cmds`); the Redis writes are in :mod:`wirefeed.feeds.store.lifecycle`.
A story's status (:data:`wirefeed.feeds.stories.model.STATUSES`) is read with
``StoryStore.get(id).status``, or :func:`state` for the JSON the API answers.
"""

from __future__ import annotations

import time
from typing import Any

from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.render import cdn
from wirefeed.feeds.render.formats import story_guid, story_url
from wirefeed.feeds.render.publish import publish
from wirefeed.feeds.store import lifecycle
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.model import Story, from_micros
from wirefeed.feeds.websub import hub


def _now_us() -> int:
    return time.time_ns() // 1000


def withdraw(store: StoryStore, taxonomy: Taxonomy, settings: Settings, story_id: str, reason: str) -> Story:
    """Withdraw a story everywhere; raises ``NoSuchStory`` / ``StoryConflict``."""
    gone, slugs = lifecycle.withdraw(store, story_id, reason, _now_us())
    _republish(store, taxonomy, settings, story_id, slugs)
    return gone


def correct(
    store: StoryStore,
    taxonomy: Taxonomy,
    settings: Settings,
    story_id: str,
    *,
    title: str | None,
    text: str | None,
    note: str,
) -> Story:
    """Store an editor's corrected version of a story and publish it."""
    story, slugs = lifecycle.correct(
        store,
        story_id,
        title=title,
        text=text,
        note=note,
        now_us=_now_us(),
        summary_chars=settings.summary_chars,
        default_agency=settings.default_agency,
    )
    _republish(store, taxonomy, settings, story_id, slugs)
    return story


def _republish(
    store: StoryStore, taxonomy: Taxonomy, settings: Settings, story_id: str, slugs: list[str]
) -> None:
    publish(store, taxonomy, settings, slugs)
    hub.notify(store.r, settings, slugs)
    cdn.purge_change(store.r, settings, [story_id], slugs)


def state(settings: Settings, story: Story) -> dict[str, Any]:
    """A story's lifecycle state as the API answers it."""
    return {
        "id": story.id,
        "guid": story_guid(settings.tag_authority, story.id),
        "url": story_url(settings.base_url, story.id),
        "status": story.status,
        "status_at": from_micros(story.status_at).isoformat() if story.status_at else None,
        "note": story.status_note or None,
        "version": story.version,
        "title": None if story.withdrawn else story.title,
        "updated": story.updated.isoformat(),
        "topics": story.topic_slugs,
    }

"""Choosing the stories of a feed request that is not a topic's plain current feed:
combined topics, filters, ``since`` pages of the change log and RFC 5005 archive pages.

Every read is bounded: index scans go in chunks, ``SELECT_MAX_SCAN`` candidates per request
whatever the number of topics (:mod:`wirefeed.config.defaults`), log pages are one ``LRANGE``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from wirefeed.config.defaults import SELECT_CHUNK, SELECT_MAX_SCAN
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.model import Story


@dataclass(frozen=True, slots=True)
class Filters:
    """Filters of a feed request; an empty filter passes everything."""

    words: tuple[str, ...] = ()
    """Every word must occur in the title or text (case-insensitive)."""
    exclude: tuple[str, ...] = ()
    """Topics a story must not carry."""
    kind: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.words or self.exclude or self.kind)

    def accepts(self, story: Story) -> bool:
        if self.kind and story.kind != self.kind:
            return False
        if self.exclude and set(self.exclude) & set(story.topic_slugs):
            return False
        if self.words:
            text = " ".join([story.title, *(b.text for b in story.blocks)]).casefold()
            return all(w in text for w in self.words)
        return True


def _index_stream(store: StoryStore, slug: str) -> Iterator[tuple[float, str]]:
    """A topic's index, newest first, as ``(-score, id)`` (so that heapq.merge sorts it)."""
    for start in range(0, SELECT_MAX_SCAN, SELECT_CHUNK):
        chunk = store.index_range(slug, start, start + SELECT_CHUNK - 1)
        for sid, score in chunk:
            yield -score, sid
        if len(chunk) < SELECT_CHUNK:
            return


def select(store: StoryStore, slugs: Sequence[str], filters: Filters, limit: int) -> list[Story]:
    """The newest ``limit`` stories in any of ``slugs`` that pass ``filters``, each once, among
    the newest ``SELECT_MAX_SCAN`` index entries of them all."""
    if len(slugs) == 1 and not filters.active:
        return store.page(slugs[0], limit)
    merged = heapq.merge(*(_index_stream(store, s) for s in slugs))
    out: list[Story] = []
    seen: set[str] = set()
    pending: list[str] = []

    def flush() -> None:
        by_id = store.stories_by_id(pending)
        for sid in pending:
            story = by_id.get(sid)
            if story is not None and len(out) < limit and filters.accepts(story):
                out.append(story)
        pending.clear()

    for scanned, (_, sid) in enumerate(merged):
        if scanned >= SELECT_MAX_SCAN:
            break
        if sid in seen:
            continue
        seen.add(sid)
        pending.append(sid)
        if len(pending) >= SELECT_CHUNK:
            flush()
            if len(out) >= limit:
                break
    if pending and len(out) < limit:
        flush()
    return out


@dataclass(frozen=True, slots=True)
class LogPage:
    """Stories of a stretch of a topic's change log."""

    stories: list[Story]
    """Each story once, as of its latest change in the stretch; oldest change first."""
    first: int
    """Sequence number before the stretch (the ``since`` cursor)."""
    last: int
    """Sequence number of the last change in the stretch (the next cursor)."""
    full: bool
    """The stretch holds as many changes as asked for (it will never change)."""


def log_page(store: StoryStore, slug: str, after: int, count: int) -> LogPage:
    """Changes ``after+1`` .. ``after+count`` of a topic, read as one page."""
    entries = store.log_entries(slug, after, count)
    latest: dict[str, tuple[int, int]] = {}
    for seq, sid, version in entries:
        latest[sid] = (seq, version)  # a later entry of the same story wins
    ordered = sorted(latest.items(), key=lambda kv: kv[1][0])
    versions = store.versions([(sid, v) for sid, (_, v) in ordered])
    stories = [versions[(sid, v)] for sid, (_, v) in ordered if (sid, v) in versions]
    last = entries[-1][0] if entries else after
    return LogPage(stories=stories, first=after, last=last, full=len(entries) == count)

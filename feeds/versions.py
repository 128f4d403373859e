"""Story versions: which incoming items are versions of one story, and what changes when a new
version arrives.

A wire resends a story with a changed figure or a reworded title. :mod:`feeds.near` says when
two titles of one agency are versions of one story; this module

- groups the items of one dump (:func:`group_dump`): the first item of a dump is the newest,
  so each group lists its versions newest first;
- folds a group's versions, oldest first, into the stored story (:func:`fold`): a new text
  becomes a new version (same id, ``version + 1``, ``updated`` bumped, the old text kept as a
  revision); a text seen before (the same resend again, or a late resend of an old version)
  changes nothing.

A story keeps the id it was first stored under; reworded titles become aliases of that id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from feeds import near
from feeds.ids import content_hash, story_id
from feeds.model import ParsedStory, Story


@dataclass(frozen=True, slots=True)
class Incoming:
    """One parsed item on its way to the store, with its publication stamp."""

    parsed: ParsedStory
    agency: str
    stamp: datetime

    @property
    def exact_id(self) -> str:
        return story_id(self.agency, self.parsed.title)


def group_dump(items: Sequence[Incoming]) -> list[list[Incoming]]:
    """Group a dump's items (newest first) into stories; each group newest first.

    An exact repeat of a title is dropped (the first, newest, occurrence wins); an item whose
    title is near an earlier group's head (same agency) joins that group as an older version.
    """
    groups: list[list[Incoming]] = []
    seen_ids: set[str] = set()
    buckets: dict[tuple[int, str], int] = {}
    for item in items:
        if item.exact_id in seen_ids:
            continue
        seen_ids.add(item.exact_id)
        keys = [(band, f"{item.agency}:{b}") for band, b in enumerate(near.buckets(item.parsed.title))]
        candidates = {buckets[k] for k in keys if k in buckets}
        match = near.best_match(
            item.parsed.title, [(g, groups[g][0].parsed.title) for g in sorted(candidates)]
        )
        if match is not None:
            groups[match].append(item)
            continue
        for k in keys:
            buckets.setdefault(k, len(groups))
        groups.append([item])
    return groups


def near_keys(agency: str, titles: Sequence[str]) -> tuple[tuple[int, str], ...]:
    """The LSH entries under which a story with these titles is found again."""
    return tuple(
        dict.fromkeys(
            (band, f"{agency}:{b}") for title in titles for band, b in enumerate(near.buckets(title))
        )
    )


@dataclass
class Folded:
    """A story after folding a group's versions into it."""

    story: Story | None
    """The new state (``None`` if nothing changed and nothing was stored)."""
    previous: Story | None
    superseded: list[Story] = field(default_factory=list)
    """Versions that this fold replaced (to keep as revisions)."""
    text_changed: bool = False
    """The current text is new: categorize it, log it, re-render its feeds."""
    outcome: str = "unchanged"
    """``new``, ``updated`` or ``unchanged``."""


def fold(
    group: Sequence[Incoming],
    stored: Story | None,
    *,
    canonical_id: str,
    source: str,
    new_story: Callable[..., Story],
) -> Folded:
    """Apply a group's versions (newest first in ``group``), oldest first, to ``stored``.

    ``new_story(parsed, **fields)`` builds a :class:`Story` (topics are set later).
    """
    story = stored
    result = Folded(story=None, previous=stored)
    for item in reversed(group):
        digest = content_hash(item.parsed)
        if story is None:
            story = new_story(
                item.parsed,
                story_id=canonical_id,
                agency=item.agency,
                published=item.stamp,
                updated=item.stamp,
                source=source,
                version=1,
                seen=(digest,),
            )
            result.text_changed = True
            continue
        if digest == story.content_hash or digest in story.seen_hashes:
            continue
        if item.stamp <= story.updated:  # an older text arriving late: remember it, change nothing
            story = replace(story, seen_hashes=(*story.seen_hashes, digest))
            continue
        result.superseded.append(story)
        story = new_story(
            item.parsed,
            story_id=canonical_id,
            agency=item.agency,
            published=story.published,
            updated=item.stamp,
            source=story.source,
            version=story.version + 1,
            seen=(*story.seen_hashes, digest),
        )
        result.text_changed = True
    if story is not stored:
        result.story = story
    if stored is None:
        result.outcome = "new"
    elif result.text_changed:
        result.outcome = "updated"
    return result

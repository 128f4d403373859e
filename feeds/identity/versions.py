"""Story versions: which incoming items are versions of one story, and what changes when a new
version arrives.

A wire resends a story with a changed figure or a reworded title. :mod:`.near` says when
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
from functools import lru_cache

from wirefeed.config import defaults
from wirefeed.config.defaults import NEAR_BANDS
from wirefeed.feeds.identity import near
from wirefeed.feeds.stories.ids import content_hash, story_id
from wirefeed.feeds.stories.model import ParsedStory, Story


@dataclass(frozen=True, slots=True)
class Incoming:
    """One parsed item on its way to the store, with its publication stamp."""

    parsed: ParsedStory
    agency: str
    stamp: datetime
    _exact_id: str | None = field(default=None, init=False, repr=False, compare=False)
    """:attr:`exact_id`, once computed (normalising and hashing a title is not free)."""
    _band_hashes: list[int] | None = field(default=None, init=False, repr=False, compare=False)
    """The title's buckets as numbers, when :func:`group_dump` computed them."""

    @property
    def exact_id(self) -> str:
        """The id of this item's own agency and title (:func:`~wirefeed.feeds.stories.ids.story_id`)."""
        found = self._exact_id
        if found is None:
            found = story_id(self.agency, self.parsed.title)
            object.__setattr__(self, "_exact_id", found)
        return found

    @property
    def buckets(self) -> list[str]:
        """:func:`.near.buckets` of the title (free after :func:`group_dump`), e.g. to carry in a
        batch payload to a worker that hands them to :func:`.near.remember_buckets`."""
        if self._band_hashes is None:
            return near.buckets(self.parsed.title)
        return [f"{h:08x}" for h in self._band_hashes]


def group_dump(items: Sequence[Incoming]) -> list[list[Incoming]]:
    """Group a dump's items (newest first) into stories; each group newest first.

    An exact repeat of a title is dropped (the first, newest, occurrence wins); an item whose
    title is near an earlier group's head (same agency) joins that group as an older version.
    """
    firsts: list[Incoming] = []
    seen_ids: set[str] = set()
    for item in items:
        exact_id = item.exact_id
        if exact_id not in seen_ids:
            seen_ids.add(exact_id)
            firsts.append(item)
    word_sets = [near.words(item.parsed.title) for item in firsts]
    groups: list[list[Incoming]] = []
    heads: list[tuple[str, frozenset[str]]] = []  # the title and words of each group's head (its newest item)
    index: dict[str, list[dict[int, int]]] = {}  # agency -> for each band: bucket -> group
    for item, wt, hashes in zip(firsts, word_sets, near.band_hashes(word_sets), strict=True):
        object.__setattr__(item, "_band_hashes", hashes)
        bands = index.get(item.agency)
        if bands is None:
            bands = index[item.agency] = [{} for _ in range(NEAR_BANDS)]
        candidates = set(map(dict.get, bands, hashes))  # no hashes (a short title): no candidates
        candidates.discard(None)
        if candidates:
            match = near.best_match_words(
                item.parsed.title, wt, [(g, *heads[g]) for g in sorted(candidates)]
            )
            if match is not None:
                groups[match].append(item)
                continue
        for band, h in zip(bands, hashes, strict=False):  # a short title has no hashes
            band.setdefault(h, len(groups))
        groups.append([item])
        heads.append((item.parsed.title, wt))
    return groups


def near_keys(agency: str, titles: Sequence[str]) -> tuple[tuple[int, str], ...]:
    """The LSH entries under which a story with these titles is found again."""
    if len(titles) == 1:
        return _title_keys(agency, titles[0])
    return tuple(dict.fromkeys(k for title in titles for k in _title_keys(agency, title)))


@lru_cache(maxsize=defaults.NEAR_TITLE_CACHE)
def _title_keys(agency: str, title: str) -> tuple[tuple[int, str], ...]:
    """:func:`near_keys` of one title (whose buckets are distinct: one per band)."""
    return tuple((band, f"{agency}:{b}") for band, b in enumerate(near.buckets(title)))


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

"""Which stored story each group of a batch is a version of: the lookup before the plan, and its
re-check just before the commit (see the pseudocode in :mod:`wirefeed.workers.pipeline`).

Two workers may store batches at the same time. The lookup reads stories found by alias or near
title before they are watched, and a story another worker stores meanwhile may be the one a group
that looked new is a version of. So, under the commit lock (:mod:`wirefeed.workers.commit_lock`)
and with the found stories WATCHed, :meth:`Lookup.stale` reads once more what the plan relied on:
the found stories (byte for byte), the aliases of the new groups' titles, and their LSH entries.
A changed story, a new alias, or a new near candidate that the identity rules accept means the
batch is planned again; anything else stays as planned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.versions import Incoming, near_keys
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.model import Story, to_micros


@dataclass
class Lookup:
    """What :func:`find_stored` read: each group's stored story, and what a re-check compares."""

    stories: list[Story | None]
    """Each group's stored story (``None``: a new story)."""
    raw: dict[str, bytes] = field(default_factory=dict)
    """Story id -> the JSON the found story was read as."""
    entries: dict[int, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    """Group number of a new story -> the LSH entries of its titles."""
    seen: dict[int, set[str]] = field(default_factory=dict)
    """Group number of a new story -> the near candidates its entries held."""

    def watch_keys(self) -> list[str]:
        """The keys of the found stories (a pipeline WATCHes them before :meth:`stale`)."""
        return [keys.story(i) for i in self.raw]

    def stale(self, store: StoryStore, groups: list[list[Incoming]]) -> bool:
        """True if the plan must be made again: a found story changed since it was read, or a
        group planned as new now has a stored story (an alias, or a near title stored since that
        the rules accept). Called with the commit lock held and the found stories WATCHed, so
        what it reads is what the commit will find, or the commit fails."""
        ids = list(self.raw)
        if any(now != self.raw[i] for i, now in zip(ids, store.get_raw(ids), strict=True)):
            return True
        new = sorted(self.entries)
        exact = [item.exact_id for gi in new for item in groups[gi]]
        if any(a != e for a, e in zip(store.resolve_aliases(exact), exact, strict=True)):
            return True
        flat = [e for gi in new for e in self.entries[gi]]
        if not flat:
            return False
        hits = iter(store.near_candidates(flat, *_span(store, [groups[gi] for gi in new])))
        fresh = {gi: {i for _ in self.entries[gi] for i in next(hits)} - self.seen[gi] for gi in new}
        fresh = {gi: ids for gi, ids in fresh.items() if ids}
        return bool(fresh) and any(m is not None for m in _near_matches(store, groups, fresh).values())


def find_stored(store: StoryStore, groups: list[list[Incoming]]) -> Lookup:
    """The stored story each group is a version of: by exact id or alias, else by near title
    (the same agency, within the near window, and no identity rule against any of its titles)."""
    flat = [item.exact_id for g in groups for item in g]
    resolved = store.resolve_aliases(flat)
    unique = list(dict.fromkeys(resolved))
    raw = {i: x for i, x in zip(unique, store.get_raw(unique), strict=True) if x is not None}
    by_id = {i: store.parse(x) for i, x in raw.items()}
    lookup = Lookup(stories=[])
    pos = 0
    for g in groups:
        ids = resolved[pos : pos + len(g)]
        pos += len(g)
        found = next((i for i in ids if i in by_id), None)
        lookup.stories.append(by_id[found] if found else None)
        if found:
            lookup.raw[found] = raw[found]
    # Near matches for the rest, in three more round trips.
    lookup.entries = {
        gi: near_keys(g[0].agency, [item.parsed.title for item in g])
        for gi, g in enumerate(groups)
        if lookup.stories[gi] is None
    }
    entries = [e for ks in lookup.entries.values() for e in ks]
    if not entries:
        return lookup
    hits = iter(store.near_candidates(entries, *_span(store, [groups[gi] for gi in lookup.entries])))
    lookup.seen = {gi: {i for _ in ks for i in next(hits)} for gi, ks in lookup.entries.items()}
    for gi, (story, text) in _near_matches(store, groups, lookup.seen).items():
        if story is not None:
            lookup.stories[gi] = story
            lookup.raw[story.id] = text
            del lookup.entries[gi], lookup.seen[gi]
    return lookup


def _span(store: StoryStore, groups: Sequence[list[Incoming]]) -> tuple[int, int]:
    """The stamps (µs) a stored story's last version may have to take any of these groups."""
    stamps = [item.stamp for g in groups for item in g]
    return to_micros(min(stamps) - store.near_window), to_micros(max(stamps))


def _near_matches(
    store: StoryStore, groups: Sequence[list[Incoming]], candidates: dict[int, set[str]]
) -> dict[int, tuple[Story | None, bytes]]:
    """For each group number, the candidate story (and its JSON) it is a version of, if any.
    Candidates are read as plain JSON (title, agency, last version); only a match is parsed."""
    ids = list(dict.fromkeys(i for found in candidates.values() for i in sorted(found)))
    raw = {i: x for i, x in zip(ids, store.get_raw(ids), strict=True) if x is not None}
    docs = {i: json.loads(x) for i, x in raw.items()}
    older = store.revision_titles(i for i, d in docs.items() if d.get("v", 1) > 1)  # (one round trip)
    out: dict[int, tuple[Story | None, bytes]] = {}
    for gi, found in candidates.items():
        group = groups[gi]
        last = group[-1]
        # in reach: the same agency, and the last version at most the near window before
        reach = to_micros(last.stamp - store.near_window)
        options = [
            (i, d["title"])
            for i in sorted(found)
            if (d := docs.get(i)) and d["agency"] == last.agency and d["updated"] >= reach
        ]
        best = None
        for item in group:
            best = near.best_match(item.parsed.title, options, older)
            if best:
                break
        out[gi] = (store.parse(raw[best]), raw[best]) if best else (None, b"")
    return out


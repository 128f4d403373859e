"""Which stored story each group of a batch is a version of: the lookup before the plan, its
catch-up after the plan, and its re-check just before the commit (see the pseudocode in
:mod:`wirefeed.workers.pipeline`).

Two workers may store batches at the same time. The lookup reads stories found by alias or near
title before they are watched, and a story another worker stores meanwhile may be the one a group
that looked new is a version of. Every saved batch logs the stories it gave LSH entries, with
their titles (``wf:nearrecent``). Once the batch is planned, :meth:`Lookup.catch_up` matches the
new groups' buckets against the stories logged since the lookup read the index, without any
lock, and moves its mark past them. Then, under the commit lock
(:mod:`wirefeed.workers.commit_lock`) and with the found stories WATCHed, :meth:`Lookup.recheck`
reads once more what the plan relied on: the found stories (byte for byte), the aliases of the
new groups' titles, and the stories logged since the catch-up (usually none: the lock is held
for a few round trips). A changed story or a new alias means the batch is planned again; a logged
story that the identity rules accept for a new group is taken (WATCHed, under the lock) and the
plan made again; anything else stays as planned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wirefeed.config import defaults
from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.memo import Memo
from wirefeed.feeds.identity.versions import Incoming, near_keys
from wirefeed.feeds.store import keys, near_index
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
    resolved: dict[str, str] = field(default_factory=dict)
    """Exact id of a new group's item -> what its alias resolved to at the lookup (itself, or a
    story no longer stored)."""
    mark: near_index.Mark = (0, "0-0")
    """Where the log of recent stories ended just before the near index was read."""

    def watch_keys(self) -> list[str]:
        """The keys of the found stories (a pipeline WATCHes them before :meth:`recheck`)."""
        return [keys.story(i) for i in self.raw]

    def catch_up(self, store: StoryStore, groups: list[list[Incoming]]) -> dict[int, str] | None:
        """Before the commit lock: the new groups that stories logged since :attr:`mark` take
        (group number -> story id; usually none), with :attr:`mark` moved past them, so that
        :meth:`recheck` under the lock matches only what was logged after this; ``None`` if the
        log no longer reaches back (:meth:`recheck` then reads the index again)."""
        if not self.entries:
            return {}
        got = near_index.recent_since(store.r, self.mark)
        if got is None:
            return None
        recent, self.mark = got
        return self._logged_matches(store, groups, recent)

    def recheck(self, store: StoryStore, groups: list[list[Incoming]]) -> dict[int, str] | None:
        """What changed since the lookup, with the commit lock held and the found stories
        WATCHed: ``None`` if the batch must be planned again (a found story changed, or a title
        of a new group became an alias), else the new groups that a story stored since takes
        (group number -> story id; usually none). Only the stories logged since :attr:`mark`
        are candidates; if the log no longer reaches back, the index is read again."""
        ids = list(self.raw)
        if any(now != self.raw[i] for i, now in zip(ids, store.get_raw(ids), strict=True)):
            return None
        new = sorted(self.entries)
        exact = [item.exact_id for gi in new for item in groups[gi]]
        if any(a != self.resolved[e] for a, e in zip(store.resolve_aliases(exact), exact, strict=True)):
            return None
        if not new:
            return {}
        got = near_index.recent_since(store.r, self.mark)
        if got is not None:
            return self._logged_matches(store, groups, got[0])
        flat = [e for gi in new for e in self.entries[gi]]
        hits = iter(store.near_candidates(flat, *_span(store, [groups[gi] for gi in new])))
        fresh = {gi: {i for _ in self.entries[gi] for i in next(hits)} - self.seen[gi] for gi in new}
        return _matched(store, groups, fresh, _docs(store, [i for found in fresh.values() for i in found])[1])

    def _logged_matches(
        self, store: StoryStore, groups: list[list[Incoming]], recent: list[list[Any]]
    ) -> dict[int, str]:
        """The new groups that these logged stories (:func:`near_index.recent_since`) take."""
        if not recent:
            return {}
        fresh = _logged_candidates(self.entries, sorted(self.entries), recent)
        wanted = set().union(*fresh.values())
        docs: dict[str, dict[str, Any]] = {}
        for sid, agency, updated, version, title, _ in recent:  # oldest first: the last wins
            if sid in wanted:
                docs[sid] = {"title": title, "agency": agency, "updated": updated, "v": version}
        return _matched(store, groups, fresh, docs)

    def adopt(self, store: StoryStore, matches: dict[int, str]) -> bool:
        """Take the stories :meth:`recheck` matched (WATCHed by the caller first) as the groups'
        stored stories; False if one is gone meanwhile."""
        ids = list(dict.fromkeys(matches.values()))
        raw = dict(zip(ids, store.get_raw(ids), strict=True))
        if any(x is None for x in raw.values()):
            return False
        for gi, sid in matches.items():
            self.stories[gi] = store.parse(raw[sid])  # type: ignore[arg-type]
            self.raw[sid] = raw[sid]  # type: ignore[assignment]
            del self.entries[gi], self.seen[gi]
        return True


def find_stored(store: StoryStore, groups: list[list[Incoming]]) -> Lookup:
    """The stored story each group is a version of: by exact id or alias, else by near title
    (the same agency, within the near window, and no identity rule against any of its titles)."""
    flat = [item.exact_id for g in groups for item in g]
    resolved = store.resolve_aliases(flat)
    raw = _raw(store, resolved)
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
        else:
            lookup.resolved.update((item.exact_id, i) for item, i in zip(g, ids, strict=True))
    # Near matches for the rest, in four more round trips.
    lookup.entries = {
        gi: near_keys(g[0].agency, [item.parsed.title for item in g])
        for gi, g in enumerate(groups)
        if lookup.stories[gi] is None
    }
    entries = [e for ks in lookup.entries.values() for e in ks]
    if not entries:
        return lookup
    lookup.mark = near_index.recent_mark(store.r)  # before the index is read: see Lookup.recheck
    hits = iter(store.near_candidates(entries, *_span(store, [groups[gi] for gi in lookup.entries])))
    lookup.seen = {gi: {i for _ in ks for i in next(hits)} for gi, ks in lookup.entries.items()}
    wanted = [i for found in lookup.seen.values() for i in found]
    cand_raw, docs = _docs(store, wanted)
    for gi, sid in _near_matches(store, groups, lookup.seen, docs).items():
        if sid is not None:
            lookup.stories[gi] = store.parse(cand_raw[sid])
            lookup.raw[sid] = cand_raw[sid]
            del lookup.entries[gi], lookup.seen[gi]
    return lookup


def _matched(
    store: StoryStore,
    groups: Sequence[list[Incoming]],
    fresh: dict[int, set[str]],
    docs: dict[str, dict[str, Any]],
) -> dict[int, str]:
    """:func:`_near_matches` of the groups with candidates, keeping only the groups matched."""
    fresh = {gi: found for gi, found in fresh.items() if found}
    if not fresh:
        return {}
    return {gi: sid for gi, sid in _near_matches(store, groups, fresh, docs).items() if sid}


def _logged_candidates(
    entries: dict[int, tuple[tuple[int, str], ...]], new: list[int], recent: list[list[Any]]
) -> dict[int, set[str]]:
    """Group number -> the logged stories (``[id, ..., LSH fields]``, :func:`near_index.recent_since`)
    that share an LSH field with it. Set operations first: most logged stories share none."""
    ours = {f for gi in new for _, f in entries[gi]}
    shared: list[tuple[str, set[str]]] = []
    common: set[str] = set()
    for story in recent:
        both = ours.intersection(story[5])
        if both:
            shared.append((story[0], both))
            common |= both
    by_field: dict[str, list[int]] = {}
    for gi in new:
        for _, f in entries[gi]:
            if f in common:
                by_field.setdefault(f, []).append(gi)
    fresh: dict[int, set[str]] = {}
    for sid, both in shared:
        for f in both:
            for gi in by_field[f]:
                fresh.setdefault(gi, set()).add(sid)
    return fresh


def _span(store: StoryStore, groups: Sequence[list[Incoming]]) -> tuple[int, int]:
    """The stamps (µs) a stored story's last version may have to take any of these groups."""
    stamps = [item.stamp for g in groups for item in g]
    return to_micros(min(stamps) - store.near_window), to_micros(max(stamps))


def _raw(store: StoryStore, ids: Sequence[str]) -> dict[str, bytes]:
    """The stored JSON of those of these stories that are stored, by id."""
    unique = list(dict.fromkeys(ids))
    return {i: x for i, x in zip(unique, store.get_raw(unique), strict=True) if x is not None}


def _docs(store: StoryStore, ids: Sequence[str]) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """The stored JSON of these stories, and what a near match reads of each (:func:`_candidate`)."""
    raw = _raw(store, ids)
    return raw, {i: _candidate(x) for i, x in raw.items()}


def _candidate(raw: bytes) -> dict[str, Any]:
    """The ``title``, ``agency``, ``updated`` and ``v`` of a stored story's JSON, memoised by
    that JSON (a stored story is the candidate of many later titles; callers must not change it)."""
    doc = _CANDIDATES.get(raw)
    if doc is None:
        d = json.loads(raw)
        doc = {"title": d["title"], "agency": d["agency"], "updated": d["updated"], "v": d.get("v", 1)}
        _CANDIDATES.put(raw, doc)
    return doc


_CANDIDATES: Memo[bytes, dict[str, Any]] = Memo(defaults.NEAR_CANDIDATE_CACHE)


def _near_matches(
    store: StoryStore,
    groups: Sequence[list[Incoming]],
    candidates: dict[int, set[str]],
    docs: dict[str, dict[str, Any]],
) -> dict[int, str | None]:
    """For each group number, the candidate story it is a version of, if any (``docs``: each
    candidate's ``title``, ``agency``, ``updated`` and ``v`` as in its stored JSON)."""
    older = store.revision_titles(i for i, d in docs.items() if d.get("v", 1) > 1)  # (one round trip)
    out: dict[int, str | None] = {}
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
        out[gi] = best
    return out

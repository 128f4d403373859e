"""What a batch changes, worked out before anything is written: each group's stored story is
found, the group's versions folded into it, and the stories whose text changed categorized
(see the pseudocode in :mod:`wirefeed.workers.pipeline`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from wirefeed.feeds.categorize import TaggingInput
from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.versions import Incoming, fold, near_keys
from wirefeed.feeds.queue.payload import incoming_to_json
from wirefeed.feeds.store.story_store import StoryChange, StoryStore
from wirefeed.feeds.stories.build import build_story
from wirefeed.feeds.stories.model import Story, TopicTag
from wirefeed.workers.context import WorkerContext


@dataclass
class Plan:
    changes: list[StoryChange]
    counts: dict[str, int]
    """``new``, ``updated``, ``unchanged`` and ``failed`` stories, and ``withdrawn`` (resends
    of withdrawn stories, set aside) when there are any."""
    poisoned: dict[int, dict[str, Any]]
    """Group number -> the group the categorizer failed on, with the error (for ``wf:poison``)."""
    categorize_seconds: float | None = None
    """Seconds the categorizer took on the batch's changed stories (``None``: none changed)."""


Tags = dict[TaggingInput, "list[TopicTag] | Exception"]
"""Categorizer results by input, kept across the attempts of one batch (see :func:`plan_batch`)."""


def plan_batch(
    ctx: WorkerContext,
    source: str,
    groups: list[list[Incoming]],
    stored: list[Story | None],
    memo: Tags | None = None,
) -> Plan:
    """What a batch changes: folded versions, categorized; stories the categorizer fails on are
    set aside (poisoned) with their error, the rest goes on. Texts categorized before (``memo``:
    an earlier attempt of the same batch that lost a race) are not categorized again."""
    settings = ctx.settings
    new_story = partial(build_story, summary_chars=settings.summary_chars)
    folds = [
        fold(
            group,
            found,
            canonical_id=found.id if found else group[-1].exact_id,
            source=source,
            new_story=new_story,
        )
        for group, found in zip(groups, stored, strict=True)
    ]
    retag = [
        n
        for n, (f, found) in enumerate(zip(folds, stored, strict=True))
        if f.story is not None and f.text_changed and not (found is not None and found.withdrawn)
    ]
    memo = {} if memo is None else memo
    inputs = [TaggingInput.from_story(folds[n].story) for n in retag]  # type: ignore[arg-type]
    todo = list(dict.fromkeys(i for i in inputs if i not in memo))
    started = time.perf_counter()
    memo.update(zip(todo, categorize_isolated(ctx, todo), strict=True))
    took = time.perf_counter() - started if todo else None
    tags = {n: memo[i] for n, i in zip(retag, inputs, strict=True)}
    plan = Plan(changes=[], counts={"new": 0, "updated": 0, "unchanged": 0, "failed": 0}, poisoned={})
    plan.categorize_seconds = took
    for n, (f, group) in enumerate(zip(folds, groups, strict=True)):
        if f.previous is not None and f.previous.withdrawn:  # a withdrawn story never comes back
            plan.counts["withdrawn"] = plan.counts.get("withdrawn", 0) + 1
            continue
        result = tags.get(n)
        if isinstance(result, BaseException):
            plan.counts["failed"] += 1
            plan.poisoned[n] = {
                "source": source,
                "title": group[0].parsed.title,
                "error": f"{type(result).__name__}: {result}",
                "group": [incoming_to_json(i) for i in group],
            }
            continue
        plan.counts[f.outcome] += 1
        if f.story is None:
            continue
        story = replace(f.story, topics=tuple(result)) if result is not None else f.story
        titles = list(dict.fromkeys([story.title, *(item.parsed.title for item in group)]))
        plan.changes.append(
            StoryChange(
                story=story,
                previous=f.previous,
                superseded=tuple(f.superseded),
                aliases=tuple({i.exact_id for i in group} - {story.id}),
                near_keys=near_keys(story.agency or settings.default_agency, titles),
                log=f.text_changed,
            )
        )
    return plan


def categorize_isolated(ctx: WorkerContext, items: list[TaggingInput]) -> list[list[TopicTag] | Exception]:
    """Categorize a batch; if that raises, one by one, so one bad story fails alone."""
    try:
        return list(ctx.categorizer.categorize_many(items))
    except Exception:
        out: list[list[TopicTag] | Exception] = []
        for item in items:
            try:
                out.append(ctx.categorizer.categorize(item))
            except Exception as exc:
                out.append(exc)
        return out


def find_stored(store: StoryStore, groups: list[list[Incoming]]) -> list[Story | None]:
    """The stored story each group is a version of: by exact id or alias, else by near title
    (the same agency, within the near window, and no identity rule against any of its titles)."""
    flat = [item.exact_id for g in groups for item in g]
    resolved = store.resolve_aliases(flat)
    by_id = store.stories_by_id(resolved)
    found: list[Story | None] = []
    pos = 0
    for g in groups:
        ids = resolved[pos : pos + len(g)]
        pos += len(g)
        found.append(next((by_id[i] for i in ids if i in by_id), None))
    # Near matches for the rest, in three more round trips.
    lookups = [
        (gi, near_keys(g[0].agency, [item.parsed.title for item in g]))
        for gi, g in enumerate(groups)
        if found[gi] is None
    ]
    entries = [e for _, ks in lookups for e in ks]
    if not entries:
        return found
    hits = iter(store.near_candidates(entries))
    per_group = [(gi, {h for h in (next(hits) for _ in ks) if h}) for gi, ks in lookups]
    candidates = store.stories_by_id(i for _, ids in per_group for i in ids)
    older = store.revision_titles(c.id for c in candidates.values() if c.version > 1)  # (one round trip)
    for gi, ids in per_group:
        group = groups[gi]
        options = [
            (c.id, c.title) for i in sorted(ids) if (c := candidates.get(i)) and in_reach(c, group[-1], store)
        ]
        best = None
        for item in group:
            best = near.best_match(item.parsed.title, options, older)
            if best:
                break
        found[gi] = candidates[best] if best else None
    return found


def in_reach(stored: Story, item: Incoming, store: StoryStore) -> bool:
    """A near-duplicate ``item`` may be a version of ``stored``: the same agency, and the stored
    story's last version no longer than the near window (``NEAR_WINDOW_HOURS``) before it."""
    return stored.agency == item.agency and item.stamp - stored.updated <= store.near_window

"""What a batch changes, worked out before anything is written: each group's stored story is
found, the group's versions folded into it, and the stories whose text changed categorized
(see the pseudocode in :mod:`wirefeed.workers.pipeline`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from wirefeed.feeds.categorize import TaggingInput
from wirefeed.feeds.identity.versions import Incoming, fold, near_keys
from wirefeed.feeds.queue.payload import incoming_to_json
from wirefeed.feeds.store.story_store import StoryChange
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

"""Two batches racing on one story, run in both bad interleavings, deterministically: batch A is
paused between reading the stored stories and committing (``run_batch``'s ``before_commit``
seam) while batch B stores a version of the same story; then A commits. Real Redis, the real
pipeline functions, in this process (nothing is queued: the test runs each batch itself).

1. A finds the stored story by an alias, B updates that story: A must not write its version
   over B's (a lost update) but fold into B's.
2. A and B carry two wordings of one new story (a near match): they must end up as one story,
   not two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from tests.test_batch_equivalence import no_queues
from wirefeed.config.settings import Settings
from wirefeed.feeds.identity import near
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.ids import story_id
from wirefeed.workers import context, pipeline
from wirefeed.workers.context import WorkerContext
from wirefeed.workers.split import split

AGENCY = "BTB"
TITLE = "Harbour council approves new river bridge funding plan after long debate"
REWORDED = "Harbour council approves new river bridge funding plan after lengthy debate"


def article(title: str, body: str) -> str:
    return f"{title}\n{body}\nJ.Smith--{AGENCY}\n"


def dump(*articles: str) -> bytes:
    return "-\n".join(articles).encode()


@pytest.fixture()
def ctx(client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerContext]:
    no_queues(monkeypatch)
    yield context.build(settings.with_(express_max_stories=0), client)


def split_dump(ctx: WorkerContext, data: bytes) -> str:
    """Submit and split a dump (its one batch stored, not run); return the ingest id."""
    sub = ingests.submit(ctx.redis, ctx.settings, data, source="race")
    _, batches = split(ctx, sub.ingest_id)
    assert batches == [0]
    return sub.ingest_id


def run(ctx: WorkerContext, ingest_id: str, **kwargs: object) -> dict[str, int]:
    return pipeline.run_batch(ctx, ingest_id, 0, **kwargs)  # type: ignore[arg-type]


def commit_first(ctx: WorkerContext, other: str, attempts: list[int]) -> Callable[[int], None]:
    """A ``before_commit`` hook: on the paused batch's first attempt, run ``other`` to the end."""

    def hook(attempt: int) -> None:
        attempts.append(attempt)
        if attempt == 0:
            run(ctx, other)

    return hook


def bodies(ctx: WorkerContext, sid: str) -> list[str]:
    """The body text of every version of a story: superseded ones, then the current one."""
    current = ctx.store.get(sid)
    assert current is not None
    return [" ".join(b.text for b in s.blocks) for s in [*ctx.store.revisions(sid), current]]


def test_rewordings_are_versions_of_one_story() -> None:
    """The premise of the second race: LSH finds the one wording from the other, and they match."""
    assert set(near.buckets(TITLE)) & set(near.buckets(REWORDED))
    assert near.best_match(REWORDED, [("stored", TITLE)]) == "stored"


def test_a_story_found_by_alias_and_updated_meanwhile_keeps_both_updates(ctx: WorkerContext) -> None:
    first = split_dump(ctx, dump(article(REWORDED, "Second wording."), article(TITLE, "First wording.")))
    run(ctx, first)
    sid = story_id(AGENCY, TITLE)  # the group's oldest item names the story
    assert ctx.store.resolve_aliases([story_id(AGENCY, REWORDED)]) == [sid]

    by_id = split_dump(ctx, dump(article(TITLE, "An update sent under the first wording.")))
    by_alias = split_dump(ctx, dump(article(REWORDED, "An update sent under the second wording.")))
    attempts: list[int] = []
    counts = run(ctx, by_alias, before_commit=commit_first(ctx, by_id, attempts))

    assert counts["updated"] == 1
    versions = bodies(ctx, sid)
    assert "An update sent under the first wording." in versions  # not written over
    assert versions[-1] == "An update sent under the second wording."
    assert ctx.redis.zcard(keys.topic_index(keys.ALL_TOPIC)) == 1
    assert attempts == [0, 1]  # the first attempt lost the race and was done again


def test_two_wordings_of_a_new_story_stored_at_once_make_one_story(ctx: WorkerContext) -> None:
    b = split_dump(ctx, dump(article(TITLE, "The council voted on Tuesday.")))
    a = split_dump(ctx, dump(article(REWORDED, "The council voted on Tuesday evening.")))
    attempts: list[int] = []
    counts = run(ctx, a, before_commit=commit_first(ctx, b, attempts))

    assert (counts["new"], counts["updated"]) == (0, 1)
    assert ctx.redis.zcard(keys.topic_index(keys.ALL_TOPIC)) == 1
    sid = story_id(AGENCY, TITLE)
    assert ctx.store.resolve_aliases([story_id(AGENCY, REWORDED)]) == [sid]
    assert bodies(ctx, sid) == ["The council voted on Tuesday.", "The council voted on Tuesday evening."]
    assert attempts == [0, 1]

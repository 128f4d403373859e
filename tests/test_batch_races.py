"""Two workers storing batches at once (issue 15): the interleavings, run deterministically.

Worker A plans its batch; at one of ``run_batch``'s seams, worker B stores a whole ingest: before
A's catch-up (``Lookup.catch_up``, no lock) or after it, just before the commit lock (then the
re-check under the lock, ``Lookup.recheck``, must see it); then A commits. Without them A would
overwrite B's version of a story it had read before B wrote it, or store a second story for one
B had just created. The real pipeline against the real Redis; the jobs run in this process.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import redis

from tests.test_batch_equivalence import no_queues
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.ids import story_id
from wirefeed.workers import context, pipeline
from wirefeed.workers.lookup import Lookup

FIRST = "Israeli strikes kill 24 in Gaza, health officials say"
A_TITLE = "Israeli strikes kill 23 in Gaza, health officials say"
B_TITLE = "Israeli strikes kill 25 in Gaza, health officials say"


def _submit(ctx: context.WorkerContext, title: str) -> str:
    return ingests.submit(ctx.redis, ctx.settings, f"-\n{title}\n".encode(), source="test").ingest_id


SEAMS = ["before_catch_up", "before_commit"]
"""Where in A's ``run_batch`` B runs: after A's plan, before or after A's catch-up."""


def _worker_a_with_b_between(
    ctx: context.WorkerContext,
    a_title: str,
    b_title: str,
    *,
    trim_log: bool = False,
    seam: str = "before_commit",
) -> None:
    """Worker A runs its ingest; at ``seam`` (after A's plan), B runs a whole ingest (and,
    with ``trim_log``, the log of recent stories loses everything, as after many batches)."""
    ran: list[str] = []

    def worker_b() -> None:
        if not ran:  # only in A's first attempt
            ran.append(b_title)
            pipeline.run_express(ctx, _submit(ctx, b_title))
            if trim_log:
                ctx.redis.xtrim(keys.NEAR_RECENT, maxlen=0)

    a = _submit(ctx, a_title)
    batches = pipeline.run_ingest(ctx, a)["batches"]
    assert batches == 1
    pipeline.run_batch(ctx, a, 0, render=False, **{seam: worker_b})  # type: ignore[arg-type]
    assert ran == [b_title]


@pytest.fixture()
def ctx(monkeypatch: pytest.MonkeyPatch, client: redis.Redis, settings: Settings) -> context.WorkerContext:
    no_queues(monkeypatch)
    return context.build(settings, client)


def _stories(client: redis.Redis) -> list[str]:
    return [i.decode() for i in client.zrange(keys.topic_index(keys.ALL_TOPIC), 0, -1)]


@pytest.mark.parametrize("seam", SEAMS)
def test_a_story_changed_after_it_was_read_is_not_overwritten(ctx: context.WorkerContext, seam: str) -> None:
    pipeline.run_express(ctx, _submit(ctx, FIRST))
    home = story_id("WIRE", FIRST)
    # A finds the story by its near title (read before it is watched); B makes version 2 meanwhile.
    _worker_a_with_b_between(ctx, A_TITLE, B_TITLE, seam=seam)
    story = ctx.store.get(home)
    assert story is not None and _stories(ctx.redis) == [home]
    # B's version stands: A's item is older than B's (stamped at A's split), so A's plan, made
    # again on top of B's version, records it as a late resend instead of overwriting B's.
    assert story.version == 2 and story.title == B_TITLE
    assert [s.title for s in ctx.store.revisions(home)] == [FIRST]
    assert ctx.redis.hget(keys.ALIAS, story_id("WIRE", A_TITLE)) == home.encode()


@pytest.mark.parametrize("seam", SEAMS)
@pytest.mark.parametrize("trim_log", [False, True], ids=["from-the-log", "log-trimmed"])
def test_two_versions_of_a_new_story_stored_at_once_make_one_story(
    ctx: context.WorkerContext, trim_log: bool, seam: str
) -> None:
    # A plans its item as a new story; meanwhile B stores another version of it as a new story.
    _worker_a_with_b_between(ctx, A_TITLE, B_TITLE, trim_log=trim_log, seam=seam)
    home = story_id("WIRE", B_TITLE)
    assert _stories(ctx.redis) == [home]
    story = ctx.store.get(home)
    assert story is not None and story.title == B_TITLE  # the newer item is the current version
    assert ctx.redis.hget(keys.ALIAS, story_id("WIRE", A_TITLE)) == home.encode()


@pytest.mark.parametrize("seam", SEAMS)
def test_a_different_story_stored_meanwhile_changes_nothing(ctx: context.WorkerContext, seam: str) -> None:
    """A new near candidate that the identity rules tell apart: A's plan stands (one attempt)."""
    other = "Israeli strikes kill 24 in Lebanon, health officials say"
    _worker_a_with_b_between(ctx, A_TITLE, other, seam=seam)
    assert sorted(_stories(ctx.redis)) == sorted([story_id("WIRE", A_TITLE), story_id("WIRE", other)])


@pytest.mark.parametrize("case", ["changed", "new"])
def test_without_the_recheck_both_races_lose_a_story(
    ctx: context.WorkerContext, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The seam really interleaves: with ``recheck`` finding nothing, both races do the damage."""
    nothing: Callable[..., dict[int, str]] = lambda *args: {}  # noqa: E731
    monkeypatch.setattr(Lookup, "recheck", nothing)
    if case == "changed":
        pipeline.run_express(ctx, _submit(ctx, FIRST))
    _worker_a_with_b_between(ctx, A_TITLE, B_TITLE)
    if case == "changed":
        story = ctx.store.get(story_id("WIRE", FIRST))
        assert story is not None and story.version == 2 and story.title == A_TITLE  # B's overwritten
        assert B_TITLE not in [s.title for s in ctx.store.revisions(story.id)]
    else:
        assert len(_stories(ctx.redis)) == 2  # one story stored twice


def test_the_catch_up_takes_a_story_stored_before_it_without_the_recheck(
    ctx: context.WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B stores a version of A's new story before A's catch-up: the catch-up alone (no lock)
    takes it, and the re-check under the lock has nothing left to match."""
    matched: list[dict[int, str] | None] = []
    recheck = Lookup.recheck

    def spy(self: Lookup, *args: object) -> dict[int, str] | None:
        matched.append(recheck(self, *args))  # type: ignore[arg-type]
        return matched[-1]

    monkeypatch.setattr(Lookup, "recheck", spy)
    _worker_a_with_b_between(ctx, A_TITLE, B_TITLE, seam="before_catch_up")
    assert _stories(ctx.redis) == [story_id("WIRE", B_TITLE)]
    assert matched[-1] == {}  # A's commit: nothing for the re-check to take


def test_a_lock_left_by_a_dead_worker_expires(ctx: context.WorkerContext) -> None:
    """A worker killed while holding the commit lock holds up the others until it expires."""
    ctx.redis.set(keys.COMMIT_LOCK, "a-dead-worker", px=300)
    pipeline.run_express(ctx, _submit(ctx, FIRST))
    assert _stories(ctx.redis) == [story_id("WIRE", FIRST)]
    assert not ctx.redis.exists(keys.COMMIT_LOCK)  # the commit took it and gave it back


def test_an_alias_to_a_story_no_longer_stored_changes_nothing(ctx: context.WorkerContext) -> None:
    """A title whose alias points nowhere (its story gone) is a new story, in one attempt."""
    ctx.redis.hset(keys.ALIAS, story_id("WIRE", FIRST), "0123456789abcdef")
    pipeline.run_express(ctx, _submit(ctx, FIRST))
    assert _stories(ctx.redis) == [story_id("WIRE", FIRST)]


def test_a_log_entry_of_the_earlier_release_reads_as_fields() -> None:
    """Entries logged before an upgrade named ``<band>|<field>``; they read as the fields."""
    from wirefeed.feeds.store.near_index import _decode_recent

    old = {b"s": json.dumps([["s1", "AP", 5, 1, "A title", ["0|AP:0a", "7|AP:ff"]]]).encode()}
    new = {b"f": json.dumps([["s2", "AP", 6, 1, "B title", ["AP:0b"]]]).encode()}
    assert _decode_recent(old) == [["s1", "AP", 5, 1, "A title", ["AP:0a", "AP:ff"]]]
    assert _decode_recent(new) == [["s2", "AP", 6, 1, "B title", ["AP:0b"]]]

"""The near window: a reworded resend is a version of a stored story only within
``NEAR_WINDOW_HOURS`` of the story's last version, and the near index forgets what is older.

The real pipeline (split, find_stored, plan, MULTI) against the real Redis, with the workers'
clock set by the test; the jobs are run in this process, in order.
"""

from __future__ import annotations

import pytest
import redis

from tests.test_batch_equivalence import FIXED_NOW, no_queues
from wirefeed.config.defaults import NEAR_BANDS
from wirefeed.config.settings import Settings
from wirefeed.feeds.identity.versions import near_keys
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.ids import story_id
from wirefeed.workers import clock, context, pipeline

HOUR = 3600 * 1_000_000
FIRST = "Israeli strikes kill 24 in Gaza, health officials say"
RESEND = "Israeli strikes kill 23 in Gaza, health officials say"
LATER = "Israeli strikes kill 25 in Gaza, health officials say"


def _ingest_at(
    monkeypatch: pytest.MonkeyPatch, ctx: context.WorkerContext, at: int, *titles: str
) -> dict[str, int]:
    monkeypatch.setattr(clock, "now_micros", lambda: at)
    dump = "".join(f"-\n{t}\n" for t in titles).encode()
    sub = ingests.submit(ctx.redis, ctx.settings, dump, source="test")
    return pipeline.run_express(ctx, sub.ingest_id)


def _home(client: redis.Redis, title: str, agency: str = "WIRE") -> str:
    sid = story_id(agency, title)
    alias = client.hget(keys.ALIAS, sid)
    return alias.decode() if alias else sid


@pytest.fixture()
def run(monkeypatch: pytest.MonkeyPatch, client: redis.Redis, settings: Settings):  # type: ignore[no-untyped-def]
    no_queues(monkeypatch)
    ctx = context.build(settings, client)
    contexts: dict[int | None, context.WorkerContext] = {None: ctx}

    def at(hours: float, *titles: str, window: int | None = None) -> dict[str, int]:
        if window not in contexts:
            s = settings.with_(near_window_hours=window)
            contexts[window] = context.WorkerContext(
                s, client, StoryStore(client, near_window_hours=window), ctx.taxonomy, ctx.categorizer
            )
        return _ingest_at(monkeypatch, contexts[window], FIXED_NOW + int(hours * HOUR), *titles)

    return at


def test_a_resend_within_the_window_is_a_version_and_a_later_one_a_new_story(
    run, client: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    assert run(0, FIRST)["new"] == 1
    assert run(2, RESEND)["updated"] == 1  # two hours on: the wire corrects the figure
    assert _home(client, RESEND) == _home(client, FIRST)
    # The window counts from the last version (hour 2): hour 49 is within it, hour 100 not.
    assert run(49, "Israeli strikes kill 26 in Gaza, health officials say")["updated"] == 1
    assert run(100, LATER)["new"] == 1
    assert _home(client, LATER) != _home(client, FIRST)


def test_the_window_is_a_setting(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    run(0, FIRST, window=1)
    assert run(2, RESEND, window=1)["new"] == 1
    assert _home(client, RESEND) != _home(client, FIRST)


def _entries(client: redis.Redis) -> dict[str, bytes]:
    """Every near-index entry, as ``<band>:<slot>/<field>`` -> value."""
    out = {}
    for key in client.scan_iter(match="wf:near:*"):
        for f, v in client.hgetall(key).items():
            out[f"{key.decode()[len('wf:near:') :]}/{f.decode()}"] = v
    return out


def test_near_index_entries_older_than_the_window_are_pruned(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    run(0, FIRST)
    first = story_id("WIRE", FIRST)
    old = set(_entries(client))
    assert len(old) == len(near_keys("WIRE", [FIRST]))
    assert set(_entries(client).values()) == {f"{first} {FIXED_NOW // 10**6}".encode()}
    run(10, "Storm Ciaran batters northern France with record winds")
    assert old <= set(_entries(client))  # still within the window
    run(100, "Pope Francis arrives in Iraq for first papal trip since pandemic")
    assert not old & set(_entries(client))  # 100 h on: its slot is gone
    assert client.get(keys.story(first)) is not None  # the story itself stays


def test_the_index_holds_two_windows_at_most_and_drops_an_old_release(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Slots are unlinked once nothing can match them, and the index of an earlier release (one
    hash per band, aged by a sorted set) goes at the first save."""
    client.hset(keys.old_near_band(0), "WIRE:0", "s0")
    client.zadd(keys.OLD_NEAR_AGE, {"0|WIRE:0": 1})
    for day in range(12):  # a story a day for 12 days, 48 h slots
        run(24 * day, f"Day {day} report: parliament debates budget number {day}")
        assert client.zcard(keys.NEAR_SLOTS) <= 2
    assert not client.exists(keys.old_near_band(0), keys.OLD_NEAR_AGE)
    assert len(_entries(client)) <= 4 * NEAR_BANDS  # the stories of the last 2-4 days


def test_exact_repeats_and_the_sample_pairs_are_unaffected(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    run(0, FIRST)
    assert run(200, FIRST)["unchanged"] == 1  # the same text again, however late: nothing new

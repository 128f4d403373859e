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
from wirefeed.feeds.store import keys, near_index
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


def _entries(client: redis.Redis) -> int:
    return sum(client.hlen(keys.near_band(b)) for b in range(NEAR_BANDS))


def test_near_index_entries_older_than_the_window_are_pruned(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    run(0, FIRST)
    old = near_keys("WIRE", [FIRST])
    assert _entries(client) == len(old)
    first = story_id("WIRE", FIRST)
    assert all(client.hget(keys.near_band(b), f) == f"{first} {FIXED_NOW // 10**6}".encode() for b, f in old)
    run(10, "Storm Ciaran batters northern France with record winds")
    assert all(client.hget(keys.near_band(b), f) for b, f in old)  # still within the window
    run(55, "Pope Francis arrives in Iraq for first papal trip since pandemic")
    assert not any(client.hget(keys.near_band(b), f) for b, f in old)  # 55 h on: dropped
    assert _entries(client) == 2 * len(old)  # the two newer stories' entries
    assert client.get(keys.story(first)) is not None  # the story itself stays


def test_the_sweep_reaches_every_entry_of_a_big_index(client: redis.Redis) -> None:
    """Steps of a few hundred entries each walk a band of thousands (``HSCAN`` from the cursor
    the last step left), drop the stale ones, keep the fresh ones, and drop entries of an older
    release (a bare story id) and its age set."""
    store = StoryStore(client, near_window_hours=48)
    now = FIXED_NOW
    stale = {f"WIRE:{n:08x}": near_index.entry(f"s{n}", now - 50 * HOUR) for n in range(5000)}
    fresh = {f"WIRE:f{n:07x}": near_index.entry(f"f{n}", now - 47 * HOUR) for n in range(300)}
    legacy = {f"WIRE:l{n:07x}": f"l{n}" for n in range(100)}
    client.hset(keys.near_band(0), mapping={**stale, **fresh, **legacy})
    client.zadd(keys.OLD_NEAR_AGE, {"0|WIRE:0": 1})
    steps = 0
    while client.hlen(keys.near_band(0)) > len(fresh) and steps < 200:
        pipe = client.pipeline(transaction=True)
        store.queue_prune_near(pipe, now, 256)
        pipe.execute()
        steps += 1
    assert steps < 60  # about 5,400 / 256 steps, with HSCAN's rehashing slack
    assert client.hgetall(keys.near_band(0)) == {k.encode(): v.encode() for k, v in fresh.items()}
    assert not client.exists(keys.OLD_NEAR_AGE)


def test_exact_repeats_and_the_sample_pairs_are_unaffected(run, client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    run(0, FIRST)
    assert run(200, FIRST)["unchanged"] == 1  # the same text again, however late: nothing new

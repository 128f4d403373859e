"""The near-duplicate index, kept in time slots so that it ages for free.

An LSH entry (field ``<agency>:<bucket>`` of ``wf:near:<band>:<slot>``) holds
``"<story id> <stamp>"``: the story and the second of its last version. It is written into the
slot of that stamp; a slot is as wide as the near window (``<hours>h<n>`` covers
``[n * window, (n + 1) * window)``), so the candidates of an item stamped ``t`` are in the slots
of ``t - window`` .. ``t`` (two, or three for a batch across a boundary), and an entry stamped
before ``t - window`` is skipped without reading its story. ``wf:nearslots`` scores each slot by
the time after which nothing can match it any more; each saved batch unlinks the slots past
that (:func:`queue_prune`): the index holds at most two windows of entries, and aging costs
nothing per entry. Changing the window starts new slots; the old ones are unlinked on time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

LEGACY = (keys.OLD_NEAR_AGE, *map(keys.old_near_band, range(defaults.NEAR_BANDS)))
"""Keys of the near index of the earlier release (one hash per band, aged by a sorted set)."""


def entry(story_id: str, stamp_us: int) -> str:
    """What an LSH entry of a story whose last version has this stamp (µs) holds."""
    return f"{story_id} {stamp_us // 1_000_000}"


def stories_since(values: Iterable[bytes | None], since_s: int) -> list[str | None]:
    """The story of each entry value whose stamp is ``since_s`` or later (else ``None``)."""
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        sid, _, stamp = value.partition(b" ")
        out.append(sid.decode() if int(stamp) >= since_s else None)
    return out


def slot(stamp_us: int, window_us: int) -> str:
    """The slot an entry stamped ``stamp_us`` is written to."""
    return f"{window_us // 3_600_000_000}h{stamp_us // window_us}"


def slots_between(since_us: int, until_us: int, window_us: int) -> list[str]:
    """The slots that hold entries stamped from ``since_us`` to ``until_us``."""
    first, last = since_us // window_us, until_us // window_us
    hours = window_us // 3_600_000_000
    return [f"{hours}h{n}" for n in range(first, last + 1)]


def expires(label: str, window_us: int) -> int:
    """When (µs) nothing can match an entry of slot ``label`` any more: one window after its end."""
    return (int(label.partition("h")[2]) + 2) * window_us


def live_slots(r: redis.Redis) -> set[str]:
    """The slots that hold entries now."""
    return {m.decode() for m in r.zrange(keys.NEAR_SLOTS, 0, -1)}


Stale = tuple[list[str], bool]
"""Near-index slots nothing can match any more, and whether an earlier release's index is there."""


def stale_slots(r: redis.Redis, now_us: int) -> Stale:
    """The slots nothing can match after ``now_us``, and whether the index of an earlier
    release is still there (one round trip)."""
    read = r.pipeline(transaction=False)
    read.zrangebyscore(keys.NEAR_SLOTS, "-inf", now_us)
    read.exists(*LEGACY)
    stale, legacy = read.execute()
    return [m.decode() for m in stale], bool(legacy)


def queue_prune(pipe: redis.client.Pipeline, stale: Stale) -> None:
    """Queue on ``pipe`` unlinking :func:`stale_slots` (unlinking a slot twice is harmless)."""
    labels, legacy = stale
    for label in labels:
        pipe.unlink(*(keys.near_band(b, label) for b in range(defaults.NEAR_BANDS)))
    if labels:
        pipe.zrem(keys.NEAR_SLOTS, *labels)
    if legacy:
        pipe.unlink(*LEGACY)


def queue_slots(pipe: redis.client.Pipeline, labels: Iterable[str], window_us: int) -> None:
    """Queue on ``pipe`` noting the slots a batch writes to, with their expiry."""
    scores = {label: expires(label, window_us) for label in labels}
    if scores:
        pipe.zadd(keys.NEAR_SLOTS, scores)


def encode_recent(stories: list[list[object]]) -> str:
    """The log entry of a batch's stories that got LSH entries (``[id, agency, µs of the last
    version, version, title, ["<agency>:<bucket>", ...]]`` each: the LSH fields, without their
    bands, which only a few more candidates can share)."""
    return json.dumps(stories, ensure_ascii=False, separators=(",", ":"))


def queue_recent(pipe: redis.client.Pipeline, entry: str) -> None:
    """Queue on ``pipe`` logging an :func:`encode_recent` entry, for workers re-checking a
    lookup made before them."""
    pipe.xadd(keys.NEAR_RECENT, {"f": entry}, maxlen=defaults.NEAR_RECENT_BATCHES, approximate=True)
    pipe.incr(keys.NEAR_RECENT_COUNT)


Mark = tuple[int, str]
"""Where the log of recent stories ended: entries logged so far, and the last entry's id."""


def recent_mark(r: redis.Redis) -> Mark:
    """Where the log of recent stories ends now (read atomically)."""
    pipe = r.pipeline(transaction=True)
    pipe.get(keys.NEAR_RECENT_COUNT)
    pipe.xrevrange(keys.NEAR_RECENT, count=1)
    count, last = pipe.execute()
    return int(count or 0), last[0][0].decode() if last else "0-0"


def recent_since(r: redis.Redis, mark: Mark) -> tuple[list[list[Any]], Mark] | None:
    """The stories logged after ``mark`` and where the log ends after them, or ``None`` if the
    log (capped) lost some of them."""
    pipe = r.pipeline(transaction=True)
    pipe.get(keys.NEAR_RECENT_COUNT)
    pipe.xrange(keys.NEAR_RECENT, min=f"({mark[1]}", max="+")
    count, after = pipe.execute()
    total = int(count or 0)
    if len(after) != total - mark[0]:
        return None
    end = (total, after[-1][0].decode()) if after else mark
    return [story for _, entry in after for story in _decode_recent(entry)], end


def _decode_recent(entry: dict[bytes, bytes]) -> list[list[Any]]:
    """One log entry's stories; an earlier release's (field ``s``) named ``<band>|<field>``."""
    if b"f" in entry:
        return json.loads(entry[b"f"])  # type: ignore[no-any-return]
    stories = json.loads(entry[b"s"])
    for story in stories:
        story[5] = [e.partition("|")[2] for e in story[5]]
    return stories  # type: ignore[no-any-return]

"""The near-duplicate index and its age: entries past the near window are swept out a few at a time.

Each LSH entry (``wf:near:<band>`` field ``<agency>:<bucket>``) holds ``"<story id> <stamp>"``:
the story and the second of its last version, so a reader can tell a stale entry without reading
the story, and nothing else needs writing to age it. :func:`queue_prune`, queued with every saved
batch, walks each band hash with ``HSCAN`` from where the last one stopped (cursors in
``wf:nearscan``) and drops the entries stamped before the window, in a Lua script that declares
every key it touches. An entry rewritten by a newer story carries the newer stamp and stays. A
full sweep visits every entry (``HSCAN``'s guarantee), so the index holds about the window's
entries plus one sweep's worth, whatever the age of the store.
"""

from __future__ import annotations

import redis
from redis.commands.core import Script

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

PRUNE = """
-- KEYS: the sweep cursors (hash: band -> HSCAN cursor), the old near-age sorted set (gone), then
-- the band hashes 0, 1, ...
-- ARGV: cutoff (s; entries stamped before it go), entries to look at per band
local cutoff = tonumber(ARGV[1])
local dropped = 0
redis.call('UNLINK', KEYS[2])
for b = 3, #KEYS do
  local band = tostring(b - 3)
  local cursor = redis.call('HGET', KEYS[1], band) or '0'
  local res = redis.call('HSCAN', KEYS[b], cursor, 'COUNT', ARGV[2])
  local kv, old = res[2], {}
  for i = 1, #kv, 2 do
    local sep = string.find(kv[i + 1], ' ', 1, true)
    if not sep or tonumber(string.sub(kv[i + 1], sep + 1)) < cutoff then old[#old + 1] = kv[i] end
  end
  for i = 1, #old, 1000 do redis.call('HDEL', KEYS[b], unpack(old, i, math.min(i + 999, #old))) end
  dropped = dropped + #old
  redis.call('HSET', KEYS[1], band, res[1])
end
return dropped
"""


def entry(story_id: str, stamp_us: int) -> str:
    """What an LSH entry of a story whose last version has this stamp (µs) holds."""
    return f"{story_id} {stamp_us // 1_000_000}"


def entry_story(value: bytes | str) -> tuple[str, int]:
    """``(story id, stamp in s)`` of an entry's value (stamp 0: an entry of an older release)."""
    text = value.decode() if isinstance(value, bytes) else value
    sid, _, stamp = text.partition(" ")
    return sid, int(stamp) if stamp else 0


def queue_prune(script: Script, pipe: redis.client.Pipeline, cutoff_us: int, per_band: int) -> None:
    """Queue on ``pipe`` the next step of the sweep: look at about ``per_band`` entries of each
    band and drop those whose story's last version is older than ``cutoff_us`` (they can never
    match again)."""
    bands = [keys.near_band(b) for b in range(defaults.NEAR_BANDS)]
    script(
        keys=[keys.NEAR_SWEEP, keys.OLD_NEAR_AGE, *bands],
        args=[cutoff_us // 1_000_000, per_band],
        client=pipe,
    )

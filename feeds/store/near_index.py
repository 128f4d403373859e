"""The near-duplicate index's age: entries past the near window are dropped a few at a time.

Every LSH entry a batch writes (``wf:near:<band>`` field ``<agency>:<bucket>``) is also scored in
``wf:nearage`` with the µs stamp of its story's last version. :func:`queue_prune` drops up to a
given number of the entries scored below a cutoff from both, atomically (a Lua script that
declares every key it touches), so an entry rewritten by a newer story (and so re-scored) is
never dropped.
"""

from __future__ import annotations

import redis
from redis.commands.core import Script

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

PRUNE = """
-- KEYS: the near-index age sorted set, then the band hashes 0, 1, ...
-- ARGV: cutoff (µs; entries scored below it go), most entries to drop
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(old) do
  local sep = string.find(m, '|', 1, true)
  redis.call('HDEL', KEYS[tonumber(string.sub(m, 1, sep - 1)) + 2], string.sub(m, sep + 1))
end
for i = 1, #old, 1000 do redis.call('ZREM', KEYS[1], unpack(old, i, math.min(i + 999, #old))) end
return #old
"""


def queue_prune(script: Script, pipe: redis.client.Pipeline, cutoff_us: int, most: int) -> None:
    """Queue on ``pipe`` dropping up to ``most`` entries whose story's last version is older than
    ``cutoff_us``: they can never match again, so the index stays about as big as the window's
    stories, whatever the age of the store."""
    bands = [keys.near_band(b) for b in range(defaults.NEAR_BANDS)]
    script(keys=[keys.NEAR_AGE, *bands], args=[cutoff_us, most], client=pipe)

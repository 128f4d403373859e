"""A stored batch's bookkeeping, so that each batch counts exactly once and the change logs
grow in batch order (see the pseudocode in :mod:`wirefeed.workers.pipeline`).

The MULTI that stores a batch's stories also notes, per batch number, its change-log entries
and touched topics (``wf:pendlog:<ingest>``), its counts (``wf:recorded:<ingest>``), its
poisoned stories and its metrics (``wf:metrics:*``) (:func:`note_stored`). :func:`count` then
adds the counts to the ingest's progress with one Lua script (``_RECORD``); the script run for
the last batch also appends every batch's log entries, moves the touched topics' stamps on and
sets the ingest to ``publishing``, atomically.
"""

from __future__ import annotations

import json

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys, metrics
from wirefeed.feeds.store.story_store import Saved
from wirefeed.workers import clock
from wirefeed.workers.plan import Plan

_RECORD = """
-- KEYS: ingest progress hash, recorded counts hash, pending log hash
-- ARGV: batch number, result TTL, now (µs), change-log key prefix, topic meta key prefix
local counts = redis.call('HGET', KEYS[2], ARGV[1])
if not counts then return {'again'} end
redis.call('HDEL', KEYS[2], ARGV[1])
for name, value in pairs(cjson.decode(counts)) do redis.call('HINCRBY', KEYS[1], name, value) end
local done = redis.call('HINCRBY', KEYS[1], 'batches_done', 1)
local total = tonumber(redis.call('HGET', KEYS[1], 'batches') or '0')
if done < total then return {'counted'} end
local pending = {}
local raw = redis.call('HGETALL', KEYS[3])
for i = 1, #raw, 2 do pending[tonumber(raw[i])] = raw[i + 1] end
local seen, touched = {}, {}
for n = 0, total - 1 do
  if pending[n] then
    local batch = cjson.decode(pending[n])
    for _, slug in ipairs(batch.touched) do
      if not seen[slug] then seen[slug] = true; touched[#touched + 1] = slug end
    end
    for _, pair in ipairs(batch.log) do
      local entries = pair[2]
      for i = 1, #entries, 1000 do
        redis.call('RPUSH', ARGV[4] .. pair[1], unpack(entries, i, math.min(i + 999, #entries)))
      end
    end
  end
end
redis.call('DEL', KEYS[3])
local now = tonumber(ARGV[3])
for _, slug in ipairs(touched) do
  local c = tonumber(redis.call('HGET', ARGV[5] .. slug, 'changed') or '0')
  if now <= c then now = c + 1 end
end
for _, slug in ipairs(touched) do redis.call('HSET', ARGV[5] .. slug, 'changed', now) end
redis.call('HSET', KEYS[1], 'state', 'publishing', 'touched', cjson.encode(touched))
return {'done', unpack(touched)}
"""


def note_stored(pipe: redis.client.Pipeline, ingest_id: str, batch_no: int, saved: Saved, plan: Plan) -> None:
    """Queue on ``pipe`` (the MULTI that stores the batch) its pending log entries and touched
    topics, its poisoned stories and its counts."""
    pending = {"touched": sorted(saved.touched), "log": list(saved.log.items())}
    pipe.hset(keys.pending_log(ingest_id), str(batch_no), json.dumps(pending))
    for n, entry in plan.poisoned.items():
        pipe.hset(keys.POISON, f"{ingest_id}:{batch_no}:{n}", json.dumps(entry))
    pipe.hset(keys.recorded(ingest_id), str(batch_no), json.dumps(plan.counts))
    metrics.count_outcomes(pipe, plan.counts)  # exactly once: this MULTI runs once per batch
    if plan.categorize_seconds is not None:
        metrics.observe(pipe, keys.METRIC_CATEGORIZE, plan.categorize_seconds, defaults.CATEGORIZE_BUCKETS)


def count(client: redis.Redis, ingest_id: str, batch_no: int, result_ttl: int) -> tuple[dict[str, int], bool]:
    """Count a stored batch into its ingest's progress (once, however often this runs); return
    the batch's counts and whether the ingest may need finishing: this batch completed it, or
    the batch was counted before (perhaps by a run that died while publishing)."""
    counts = json.loads(client.hget(keys.recorded(ingest_id), str(batch_no)) or "{}")
    outcome, *_ = client.register_script(_RECORD)(
        keys=[keys.ingest(ingest_id), keys.recorded(ingest_id), keys.pending_log(ingest_id)],
        args=[str(batch_no), result_ttl, clock.now_micros(), keys.topic_log(""), keys.topic_meta("")],
    )
    return counts, outcome in (b"done", b"again")

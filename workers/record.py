"""A stored batch's bookkeeping, so that each batch counts exactly once and the change logs
grow in batch order (see the pseudocode in :mod:`wirefeed.workers.pipeline`).

The MULTI that stores a batch's stories also notes, per batch number, its change-log entries
and touched topics (``wf:pendlog:<ingest>``), its counts (``wf:recorded:<ingest>``), its
poisoned stories and its metrics (``wf:metrics:*``) (:func:`note_stored`). :func:`count` then
adds the counts to the ingest's progress with one Lua script (``_RECORD``); once every batch is
counted a second one (``_COMPLETE``) appends every batch's log entries, moves the touched
topics' stamps on and sets the ingest to ``publishing``, atomically. Each script names every
key it touches in ``KEYS`` (``tests/test_lua_keys.py`` checks every script of wirefeed).
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
-- ARGV: batch number
local outcome = 'again'
local counts = redis.call('HGET', KEYS[2], ARGV[1])
if counts then
  redis.call('HDEL', KEYS[2], ARGV[1])
  for name, value in pairs(cjson.decode(counts)) do redis.call('HINCRBY', KEYS[1], name, value) end
  redis.call('HINCRBY', KEYS[1], 'batches_done', 1)
  outcome = 'counted'
end
local state, done, total = unpack(redis.call('HMGET', KEYS[1], 'state', 'batches_done', 'batches'))
if state ~= 'categorizing' or tonumber(done or '0') < tonumber(total or '0') then return {outcome} end
local pending = {}
local raw = redis.call('HGETALL', KEYS[3])
for i = 1, #raw, 2 do pending[tonumber(raw[i])] = raw[i + 1] end
local seen, touched = {}, {}
for n = 0, tonumber(total or '0') - 1 do
  if pending[n] then
    for _, slug in ipairs(cjson.decode(pending[n]).touched) do
      if not seen[slug] then seen[slug] = true; touched[#touched + 1] = slug end
    end
  end
end
return {'complete', unpack(touched)}
"""
"""Count a batch; once every batch is counted (and the ingest not yet completed), return
``complete`` and the touched topics, in batch order, so the caller can name their keys."""

_COMPLETE = """
-- KEYS: ingest progress hash, pending log hash, then per touched topic (ARGV[2..]) its change
--       log and its meta hash
-- ARGV: now (µs), the touched topics as _RECORD returned them
if redis.call('HGET', KEYS[1], 'state') ~= 'categorizing' then return 0 end
local log_key, meta_key, touched = {}, {}, {}
for i = 2, #ARGV do
  log_key[ARGV[i]] = KEYS[2 * i - 1]
  meta_key[ARGV[i]] = KEYS[2 * i]
  touched[#touched + 1] = ARGV[i]
end
local pending = {}
local raw = redis.call('HGETALL', KEYS[2])
local total = tonumber(redis.call('HGET', KEYS[1], 'batches') or '0')
for i = 1, #raw, 2 do pending[tonumber(raw[i])] = cjson.decode(raw[i + 1]) end
for n = 0, total - 1 do  -- check first: nothing is written unless every key was declared
  if pending[n] then
    for _, slug in ipairs(pending[n].touched) do
      if not meta_key[slug] then return redis.error_reply('undeclared topic ' .. slug) end
    end
    for _, pair in ipairs(pending[n].log) do
      if not log_key[pair[1]] then return redis.error_reply('undeclared topic ' .. pair[1]) end
    end
  end
end
for n = 0, total - 1 do
  if pending[n] then
    for _, pair in ipairs(pending[n].log) do
      local entries = pair[2]
      for i = 1, #entries, 1000 do
        redis.call('RPUSH', log_key[pair[1]], unpack(entries, i, math.min(i + 999, #entries)))
      end
    end
  end
end
redis.call('DEL', KEYS[2])
local now = tonumber(ARGV[1])
for _, slug in ipairs(touched) do
  local c = tonumber(redis.call('HGET', meta_key[slug], 'changed') or '0')
  if now <= c then now = c + 1 end
end
for _, slug in ipairs(touched) do redis.call('HSET', meta_key[slug], 'changed', now) end
redis.call('HSET', KEYS[1], 'state', 'publishing', 'touched', cjson.encode(touched))
return 1
"""
"""Complete an ingest whose batches are all counted, once: append every batch's log entries in
batch order, move the touched topics' stamps on, set the ingest to ``publishing``."""


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


def count(client: redis.Redis, ingest_id: str, batch_no: int) -> tuple[dict[str, int], bool]:
    """Count a stored batch into its ingest's progress (once, however often this runs); return
    the batch's counts and whether the ingest may need finishing: this batch completed it, or
    the batch was counted before (perhaps by a run that died while completing or publishing).

    Completing takes a second script, since the keys a script writes must be named in its
    ``KEYS`` and the touched topics are known only once every batch is counted; a run that dies
    between the two completes the ingest when it runs again (``_RECORD`` answers ``complete``
    until ``_COMPLETE`` has run, which runs once)."""
    counts = json.loads(client.hget(keys.recorded(ingest_id), str(batch_no)) or "{}")
    outcome, *touched = client.register_script(_RECORD)(
        keys=[keys.ingest(ingest_id), keys.recorded(ingest_id), keys.pending_log(ingest_id)],
        args=[str(batch_no)],
    )
    if outcome == b"complete":
        slugs = [t.decode() for t in touched]
        topic_keys = [k for slug in slugs for k in (keys.topic_log(slug), keys.topic_meta(slug))]
        client.register_script(_COMPLETE)(
            keys=[keys.ingest(ingest_id), keys.pending_log(ingest_id), *topic_keys],
            args=[clock.now_micros(), *slugs],
        )
    return counts, outcome in (b"complete", b"again")

"""The Lua scripts of :class:`~wirefeed.feeds.store.story_store.StoryStore` (each names every
key it touches in ``KEYS``)."""

ADVANCE_CLOCK = """
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
if now > c then c = now end
c = c + tonumber(ARGV[2])
redis.call('SET', KEYS[1], c)
return c
"""


TOUCH_TOPICS = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local c = tonumber(redis.call('HGET', key, 'changed') or '0')
  if now <= c then now = c + 1 end
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'changed', now)
end
return now
"""

LOG_RANGE = """
local base = tonumber(redis.call('HGET', KEYS[1], 'log_base') or '0')
local first = tonumber(ARGV[1]) - base
if first < 0 then return {base, {}} end
return {base, redis.call('LRANGE', KEYS[2], first, first + tonumber(ARGV[2]) - 1)}
"""

PUT_IF_NEWER = """
local c = tonumber(redis.call('HGET', KEYS[1], 'changed') or '-1')
if tonumber(ARGV[1]) < c then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""

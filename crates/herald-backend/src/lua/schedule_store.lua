-- Takes a deferred message into the schedule, once: a redelivery of the same message finds its
-- entry and changes nothing. A message cancelled while it was still on the schedule route (or
-- whose status is gone) is dropped here, so it is never delivered.
-- KEYS[1]: the message's status hash
-- KEYS[2]: the message's schedule entry (hash of small fields, kept compact by Redis)
-- KEYS[3]: the message's envelope (string; apart from the entry, whose hash it would otherwise
--          turn from a compact listpack into a hashtable twice its size)
-- ARGV[1]: the envelope (JSON, occurrence 0)
-- ARGV[2]: first occurrence, ms
-- ARGV[3]: repeat interval, s (0: one-shot)
-- ARGV[4]: last allowed occurrence time, ms (0: until cancelled)
-- ARGV[5]: time to live of the entry, ms
-- Returns: the due time of the entry's next occurrence, ms, or -1 when the message is dropped
-- Mirrors herald_core::schedule::Schedule::occurrence_at (occurrence `next` is due at
-- first + next * every * 1000); ARGV[5] is Schedule::ttl, computed by the caller. Lua's numbers
-- are doubles: the times are exact below 2^53 ms, which any real schedule is.
if redis.call('HGET', KEYS[1], 's') ~= 'scheduled' then
  return -1
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'first', ARGV[2], 'every', ARGV[3], 'expires', ARGV[4],
    'next', 0, 'fired', 0, 'skipped', 0)
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[5])
end
local f = redis.call('HMGET', KEYS[2], 'first', 'every', 'next')
return tonumber(f[1]) + tonumber(f[3]) * tonumber(f[2]) * 1000

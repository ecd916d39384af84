-- Records that occurrence k was published (the broker confirmed it) and schedules the next one,
-- anchored to the first occurrence: k+1 is due at first + (k+1) * interval, never "now + interval".
-- Repeating it for the same k changes nothing.
-- KEYS[1]: the message's status hash
-- KEYS[2]: the message's schedule entry (hash)
-- KEYS[3]: the message's envelope (string)
-- ARGV[1]: the occurrence that was published
-- ARGV[2]: time to live of the status record after the last occurrence, ms
-- Returns: the due time of the next occurrence, ms, or -1 when there is none
local f = redis.call('HMGET', KEYS[2], 'first', 'every', 'expires', 'next')
if not f[1] then
  return -1
end
local first, every, expires, k = tonumber(f[1]), tonumber(f[2]) * 1000, tonumber(f[3]), tonumber(f[4])
local published = tonumber(ARGV[1])
if published < k then
  return first + k * every
end
redis.call('HINCRBY', KEYS[1], 'fired', 1)
local nextk = published + 1
local due = first + nextk * every
if every == 0 or (expires > 0 and due > expires) then
  redis.call('DEL', KEYS[2], KEYS[3])
  -- The last occurrence of a repeating message is its publication; a one-shot message is
  -- marked published by the dispatcher, as an immediate one.
  if every > 0 and redis.call('HGET', KEYS[1], 's') == 'scheduled' then
    redis.call('HSET', KEYS[1], 's', 'published')
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return -1
end
redis.call('HSET', KEYS[2], 'next', nextk)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = math.max(due - now, 0) + tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return due

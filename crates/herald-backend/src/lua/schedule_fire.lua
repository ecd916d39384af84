-- Decides whether a claimed entry fires now, and which occurrence. Cancel goes through the same
-- keys, so exactly one of cancel and fire wins. A one-shot message being fired stops being
-- cancellable. After downtime, missed occurrences of a repeating message are skipped (counted),
-- not replayed: the latest one due fires, once.
-- KEYS[1]: the message's status hash
-- KEYS[2]: the message's schedule entry (hash)
-- KEYS[3]: the message's envelope (string)
-- Returns: {-1} gone (cancelled or finished), {-2, due} not due yet,
--          or {occurrence, envelope, due, skipped now}
if redis.call('HGET', KEYS[1], 's') ~= 'scheduled' or redis.call('EXISTS', KEYS[2]) == 0 then
  return {-1}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[2], 'first', 'every', 'expires', 'next', 'env')
-- Entries stored before the envelope had its own key keep it in the hash.
local envelope = redis.call('GET', KEYS[3]) or f[5]
if not envelope then
  return {-1}
end
local first, every, expires, k = tonumber(f[1]), tonumber(f[2]) * 1000, tonumber(f[3]), tonumber(f[4])
local due = first + k * every
if due > now then
  return {-2, due}
end
local skipped = 0
if every > 0 then
  local latest = math.floor((now - first) / every)
  if expires > 0 then
    latest = math.min(latest, math.floor((expires - first) / every))
  end
  if latest > k then
    skipped = latest - k
    k = latest
    due = first + k * every
    redis.call('HSET', KEYS[2], 'next', k)
    redis.call('HINCRBY', KEYS[2], 'skipped', skipped)
    redis.call('HINCRBY', KEYS[1], 'skipped', skipped)
  end
else
  redis.call('HSET', KEYS[1], 'k', 'immediate')
end
return {k, envelope, due, skipped}

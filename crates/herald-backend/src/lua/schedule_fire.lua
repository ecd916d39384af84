-- Decides, for each entry of one shard's claim, whether it fires now and which occurrence.
-- Cancel goes through the same keys, so exactly one of cancel and fire wins. A one-shot message
-- being fired stops being cancellable, and counts as fired. After downtime, missed occurrences of a repeating message
-- are skipped (counted), not replayed: the latest one due fires, once. An entry that does not
-- fire ends its claim here: gone, it leaves the lease set; not due, it goes back to the due set.
-- Those that fire come with their envelope. Every key is in the shard's hash slot.
-- KEYS[1]: the shard's due set; KEYS[2]: the shard's lease set
-- KEYS[3i], KEYS[3i+1], KEYS[3i+2] (i = 1..n): entry i's status hash, schedule entry (hash) and
--   envelope (string)
-- ARGV[i]: entry i's member in the shard's sets
-- Returns, per entry: {-1} gone (cancelled or finished), {-2, due} not due yet, or
--   {occurrence, due, skipped now, interval s, envelope}
-- Mirrors herald_core::schedule::Schedule::occurrence_at (the due time of occurrence k) and
-- Schedule::latest_due (the occurrence that fires after missed ones: the latest not after now,
-- nor after the expiry).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone, later = {}, {}

local function fire(status, entry, envelope_key, member)
  local f = redis.call('HMGET', entry, 'first', 'every', 'expires', 'next')
  if not f[1] or redis.call('HGET', status, 's') ~= 'scheduled' then
    gone[#gone + 1] = member
    return {-1}
  end
  local first, every, expires, k = tonumber(f[1]), tonumber(f[2]) * 1000, tonumber(f[3]), tonumber(f[4])
  local due = first + k * every
  if due > now then
    gone[#gone + 1] = member
    later[#later + 1] = due
    later[#later + 1] = member
    return {-2, due}
  end
  local envelope = redis.call('GET', envelope_key)
  if not envelope then
    gone[#gone + 1] = member
    return {-1}
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
      redis.call('HSET', entry, 'next', k)
      redis.call('HINCRBY', entry, 'skipped', skipped)
      redis.call('HINCRBY', status, 'skipped', skipped)
    end
  else
    -- A one-shot message on its way is no longer cancellable, and its only occurrence is counted
    -- now (set, not added: firing it again after a failed publish counts it once), so its commit
    -- has nothing to write to the status record.
    redis.call('HSET', status, 'k', 'immediate', 'fired', 1)
  end
  return {k, due, skipped, tonumber(f[2]), envelope}
end

local out = {}
for i = 1, #ARGV do
  out[i] = fire(KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2], ARGV[i])
end
-- The claims that end here, in one command each (a slice at a time: unpack has a stack limit).
for i = 1, #gone, 1000 do
  redis.call('ZREM', KEYS[2], unpack(gone, i, math.min(i + 999, #gone)))
end
for i = 1, #later, 1000 do
  redis.call('ZADD', KEYS[1], unpack(later, i, math.min(i + 999, #later)))
end
return out

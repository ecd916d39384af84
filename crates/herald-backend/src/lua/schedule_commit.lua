-- Records, for each occurrence of a repeating message in one shard's batch that was published
-- (the broker confirmed it), that it was, schedules the entry's next occurrence, and ends the
-- entry's claim: it goes back to the due set at that time, or leaves the sets when there is none
-- (the last occurrence). One-shot messages need no script: their occurrence is counted when it
-- fires, and the scheduler ends them with one MULTI. The next occurrence is anchored to the first: k+1 is due
-- at first + (k+1) * interval, never "now + interval". Repeating it for the same k changes
-- nothing, and an entry that is gone (committed already, cancelled, expired) counts nothing.
-- A pending entry's keys then live until its next occurrence and a status lifetime after it.
-- Every key is in the shard's hash slot.
-- KEYS[1]: the shard's due set; KEYS[2]: the shard's lease set
-- KEYS[3i], KEYS[3i+1], KEYS[3i+2] (i = 1..n): entry i's status hash, schedule entry (hash) and
--   envelope (string)
-- ARGV[1]: time to live of a status record after the last occurrence, ms
-- ARGV[2i], ARGV[2i+1]: entry i's member in the shard's sets, and the occurrence published
-- Returns, per entry: the due time of its next occurrence, ms, or -1 when there is none
-- Mirrors herald_core::schedule::Schedule::occurrence_at (occurrence k+1, none past the expiry)
-- and herald_core::schedule::ttl_until (the records live until the next occurrence, then the
-- status TTL).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local status_ttl = tonumber(ARGV[1])

local function commit(status, entry, envelope, published)
  local f = redis.call('HMGET', entry, 'first', 'every', 'expires', 'next')
  if not f[1] then
    return -1
  end
  local first, every, expires, k = tonumber(f[1]), tonumber(f[2]) * 1000, tonumber(f[3]), tonumber(f[4])
  if published < k then
    return first + k * every
  end
  -- Counted only on a record that is still there: HINCRBY would create one without a lifetime.
  if redis.call('EXISTS', status) == 1 then
    redis.call('HINCRBY', status, 'fired', 1)
  end
  local nextk = published + 1
  local due = first + nextk * every
  if every == 0 or (expires > 0 and due > expires) then
    redis.call('DEL', entry, envelope)
    -- The last occurrence of a repeating message is its publication; a one-shot message is
    -- marked published by the dispatcher, as an immediate one.
    if every > 0 and redis.call('HGET', status, 's') == 'scheduled' then
      redis.call('HSET', status, 's', 'published')
      redis.call('PEXPIRE', status, status_ttl)
    end
    return -1
  end
  redis.call('HSET', entry, 'next', nextk)
  local ttl = math.max(due - now, 0) + status_ttl
  redis.call('PEXPIRE', entry, ttl)
  redis.call('PEXPIRE', envelope, ttl)
  redis.call('PEXPIRE', status, ttl)
  return due
end

local out, ended, later = {}, {}, {}
local n = (#ARGV - 1) / 2
for i = 1, n do
  local base = 3 * i
  local member = ARGV[2 * i]
  local next_due = commit(KEYS[base], KEYS[base + 1], KEYS[base + 2], tonumber(ARGV[2 * i + 1]))
  ended[#ended + 1] = member
  if next_due >= 0 then
    later[#later + 1] = next_due
    later[#later + 1] = member
  end
  out[i] = next_due
end
-- The claims end in one command each (a slice at a time: unpack has a stack limit).
for i = 1, #ended, 1000 do
  redis.call('ZREM', KEYS[2], unpack(ended, i, math.min(i + 999, #ended)))
end
for i = 1, #later, 1000 do
  redis.call('ZADD', KEYS[1], unpack(later, i, math.min(i + 999, #later)))
end
return out

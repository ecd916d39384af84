-- Claims a batch of due entries of one shard under a lease: they move from the due set to the
-- lease set, scored by the lease's deadline. Entries whose lease expired (their scheduler died
-- mid-batch) are due again first. Redis's clock decides what is due.
-- KEYS[1]: the shard's due set (zset: member -> due time, ms)
-- KEYS[2]: the shard's lease set (zset: member -> lease deadline, ms)
-- ARGV[1]: most entries claimed
-- ARGV[2]: lease, ms
-- Returns: {now (µs), expired leases, earliest remaining due time or -1, earliest lease or -1,
--          entries left due (pending), entries leased (in flight), members...}
-- Mirrors herald_core::schedule::Schedule::occurrence_at through the due set's scores, which
-- schedule_store.lua, schedule_fire.lua and schedule_commit.lua set from it: due means score <= now.
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = math.floor(now_us / 1000)
local batch = tonumber(ARGV[1])

-- Moves members from one set to the other at one score, a slice of them per command (Lua's
-- unpack has a stack limit).
local function move(members, from, to, score)
  for i = 1, #members, 1000 do
    local slice, scored = {}, {}
    for j = i, math.min(i + 999, #members) do
      slice[#slice + 1] = members[j]
      scored[#scored + 1] = score
      scored[#scored + 1] = members[j]
    end
    redis.call('ZREM', from, unpack(slice))
    redis.call('ZADD', to, unpack(scored))
  end
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, batch)
move(expired, KEYS[2], KEYS[1], now)
local claimed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, batch)
move(claimed, KEYS[1], KEYS[2], now + tonumber(ARGV[2]))
local function earliest(key)
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first == 0 then
    return -1
  end
  return tonumber(first[2])
end
local out = {now_us, #expired, earliest(KEYS[1]), earliest(KEYS[2]), redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
for _, member in ipairs(claimed) do
  out[#out + 1] = member
end
return out

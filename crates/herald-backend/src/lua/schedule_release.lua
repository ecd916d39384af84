-- Ends a claim: the entry leaves the lease set and, when it has a next occurrence, goes back to
-- the due set at that time.
-- KEYS[1]: the shard's due set
-- KEYS[2]: the shard's lease set
-- ARGV[1]: the member
-- ARGV[2]: its next due time, ms, or -1 for none
-- Returns: 1
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(ARGV[2]) >= 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1

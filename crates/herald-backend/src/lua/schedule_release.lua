-- Ends claims of one shard: each entry leaves the lease set and, when it has a next occurrence,
-- goes back to the due set at that time. One call ends a whole batch.
-- KEYS[1]: the shard's due set
-- KEYS[2]: the shard's lease set
-- ARGV: pairs of (member, its next due time in ms, or -1 for none)
-- Returns: the number of claims ended
for i = 1, #ARGV, 2 do
  redis.call('ZREM', KEYS[2], ARGV[i])
  local due = tonumber(ARGV[i + 1])
  if due >= 0 then
    redis.call('ZADD', KEYS[1], due, ARGV[i])
  end
end
return #ARGV / 2

-- Cancels a message that is still waiting for its (next) publish time. Immediate messages are
-- already on their way to subscribers and cannot be cancelled, like finished ones.
-- KEYS[1]: the message's status hash
-- ARGV[1]: time to live of the record from now, ms
-- Returns: 1 when cancelled, 0 when there is nothing to cancel (unknown, immediate or final)
local fields = redis.call('HMGET', KEYS[1], 's', 'k')
if fields[1] ~= 'scheduled' or fields[2] ~= 'deferred' then
  return 0
end
redis.call('HSET', KEYS[1], 's', 'cancelled')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1

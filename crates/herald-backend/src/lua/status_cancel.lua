-- Cancels a message that is still waiting for its (next) publish time, and removes its schedule
-- entry in the same step, so exactly one of cancel and fire wins (schedule_fire.lua checks the
-- same keys). Immediate messages, and one-shot messages being fired, are already on their way and
-- cannot be cancelled, like finished ones.
-- KEYS[1]: the message's status hash
-- KEYS[2]: the message's schedule entry (hash)
-- KEYS[3]: the message's envelope (string)
-- ARGV[1]: time to live of the record from now, ms
-- Returns: 1 when cancelled, 0 when there is nothing to cancel (unknown, on its way or final)
local fields = redis.call('HMGET', KEYS[1], 's', 'k')
if fields[1] ~= 'scheduled' or fields[2] ~= 'deferred' then
  return 0
end
redis.call('HSET', KEYS[1], 's', 'cancelled')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1

-- Records a newly accepted message as scheduled.
-- KEYS[1]: the message's status hash
-- ARGV[1]: delivery kind, "immediate" or "deferred"
-- ARGV[2]: time to live of the record, ms
-- Returns: 1
redis.call('HSET', KEYS[1], 's', 'scheduled', 'k', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1

-- Records a newly accepted message as scheduled, with its channel (which decides who may read
-- its status or cancel it; no later script rewrites the field, so it lives as long as the record).
-- KEYS[1]: the message's status hash
-- ARGV[1]: delivery kind, "immediate" or "deferred"
-- ARGV[2]: time to live of the record, ms
-- ARGV[3]: the channel the message was published to
-- Returns: 1
redis.call('HSET', KEYS[1], 's', 'scheduled', 'k', ARGV[1], 'c', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1

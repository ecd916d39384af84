-- Announces a scheduler alive until now + ttl and lists the schedulers alive, itself included;
-- schedulers whose announcement ran out are dropped. Redis's clock decides.
-- KEYS[1]: the scheduler set (zset: scheduler id -> alive until, ms)
-- ARGV[1]: this scheduler's id
-- ARGV[2]: ttl, ms
-- Returns: the ids of the schedulers alive
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)

-- Opens a polling subscription on a channel. Its cursor starts at the newest entry of the
-- channel's buffer, so it receives the messages delivered after it subscribed.
-- Stream ids and this script's clock are both Redis's own (TIME), so they always agree.
-- KEYS[1]: the channel's subscriptions (zset: subscription id -> expiry, ms)
-- KEYS[2]: the channel's buffer (stream)
-- KEYS[3]: the subscription (hash: cursor, selector)
-- ARGV[1]: subscription id
-- ARGV[2]: idle time to live of the subscription, ms
-- ARGV[3]: the subscription's selector, '' for none
-- Returns: the cursor
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if #newest > 0 then
  cursor = newest[1][1]
end
redis.call('HSET', KEYS[3], 'cursor', cursor, 'selector', ARGV[3])
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return cursor

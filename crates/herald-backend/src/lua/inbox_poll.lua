-- Hands a polling subscription the messages buffered since its last poll, each once, skipping
-- those older than the window, and keeps the subscription alive.
-- KEYS[1]: the channel's subscriptions (zset: subscription id -> expiry, ms)
-- KEYS[2]: the channel's buffer (stream)
-- KEYS[3]: the subscription (hash: cursor, selector)
-- ARGV[1]: subscription id
-- ARGV[2]: idle time to live of the subscription, ms
-- ARGV[3]: buffer window, ms
-- ARGV[4]: most messages returned
-- Returns: {selector ('' for none), messages (JSON texts, oldest first)...}, or nil for an
--          unknown or expired subscription. The caller applies the selector.
local sub = redis.call('HMGET', KEYS[3], 'cursor', 'selector')
local cursor = sub[1]
if not cursor then
  return nil
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local oldest = now - tonumber(ARGV[3])
local start = '(' .. cursor
if tonumber(string.match(cursor, '^(%d+)')) < oldest then
  start = oldest .. '-0'
end
local entries = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', ARGV[4])
local out = {sub[2] or ''}
for _, entry in ipairs(entries) do
  out[#out + 1] = entry[2][2]
  cursor = entry[1]
end
redis.call('HSET', KEYS[3], 'cursor', cursor)
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return out

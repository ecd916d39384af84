-- Appends one message occurrence to its channel's polling buffer, once: the occurrence's marker
-- and the append happen together, so a redelivery of the same occurrence is dropped. Channels
-- without live polling subscriptions get nothing written, not even the marker.
-- KEYS[1]: the channel's subscriptions (zset: subscription id -> expiry, ms)
-- KEYS[2]: the channel's buffer (stream)
-- KEYS[3]: the occurrence's delivered marker
-- ARGV[1]: the message as pollers receive it (JSON)
-- ARGV[2]: how long the marker is kept, ms
-- ARGV[3]: buffer window, ms
-- ARGV[4]: buffer cap, entries
-- Returns: number of live subscriptions the message was buffered for, 0 when none, -1 duplicate
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local subscribers = redis.call('ZCARD', KEYS[1])
if subscribers == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return -1
end
local window = tonumber(ARGV[3])
-- An exact MAXLEN (not ~): the cap is a promise to subscribers, the newest ARGV[4] messages.
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'm', ARGV[1])
-- Marked only once the append succeeded: a failed append must leave the redelivery deliverable.
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', '~', now - window)
redis.call('PEXPIRE', KEYS[2], window * 2)
return subscribers

-- Moves a scheduled message to its final status (published or failed). A message already final
-- (published, failed or cancelled) keeps its status, so a redelivery cannot undo a cancel.
-- KEYS[1]: the message's status hash
-- ARGV[1]: the final status, "published" or "failed"
-- ARGV[2]: the error message of a "failed" one (kept even when empty; ignored for "published")
-- ARGV[3]: time to live of the record from now, ms
-- Returns: 1 when the status changed, 0 when the record is missing (expired), -1 when already final
local status = redis.call('HGET', KEYS[1], 's')
if not status then
  return 0
end
if status ~= 'scheduled' then
  return -1
end
redis.call('HSET', KEYS[1], 's', ARGV[1])
if ARGV[1] == 'failed' then
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1

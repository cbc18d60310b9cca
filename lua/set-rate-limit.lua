-- set-rate-limit: set (max > 0) or remove (max = 0) the queue-wide limit: at most `max` jobs start in
-- any window of `duration` ms. Claim reads it on every call, so it holds from the next claim on; the ctl
-- entry wakes blocked workers so a raised or removed limit is used at once.
-- KEYS: meta ctl
-- ARGV: max duration
-- Returns: OK
-- Events: none
-- Loops: none
--@include status
local metaKey, ctlKey = KEYS[1], KEYS[2]
local max, duration = tonumber(ARGV[1]), tonumber(ARGV[2])
if max > 0 then
  redis.call('HSET', metaKey, 'rlmax', max, 'rldur', duration)
else
  redis.call('HDEL', metaKey, 'rlmax', 'rldur')
end
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'limit', max)
return STATUS.OK

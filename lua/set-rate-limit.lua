-- set-rate-limit: set (max > 0) or remove (max = 0) the queue-wide limit: at most `max` jobs start in
-- any window of `duration` ms, as a sliding window (burst -1) or smooth, spaced duration / max apart with
-- up to `burst` at once (queue-limits.lua). Claim reads it on every call, so it holds from the next claim
-- on; the ctl entry wakes blocked workers so a raised or removed limit is used at once. The queue's
-- concurrency, when it has one, is kept.
-- KEYS: meta ctl rate
-- ARGV: max duration burst
-- Returns: OK
-- Events: none
-- Loops: none
--@include status
--@include queue-limits
local metaKey, ctlKey, rateKey = KEYS[1], KEYS[2], KEYS[3]
local max, duration, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
putRateRule(metaKey, rateKey, readQueueRule(metaKey), max, duration, burst)
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'limit', max)
return STATUS.OK

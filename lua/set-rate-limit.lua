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
local rule = readQueueRule(metaKey)
local wasSmooth = rule.max > 0 and rule.burst > 0
if max > 0 then
  rule.max, rule.duration, rule.burst = max, duration, burst
else
  rule.max, rule.duration, rule.burst = 0, 0, -1
end
writeQueueRule(metaKey, rule)
-- The smooth limit's time stays across a change of its numbers (it is the debt of starts already made); it
-- means nothing to a sliding window, and a smooth limit has no use for the sliding window's log of starts.
if rule.burst <= 0 then redis.call('HDEL', metaKey, 'rltat') end
if rule.burst > 0 and not wasSmooth then redis.call('DEL', rateKey) end
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'limit', max)
return STATUS.OK

-- set-concurrency: set (concurrency > 0) or remove (0) the queue-wide concurrency: at most `concurrency`
-- jobs of the queue run at once, across every worker (queue-limits.lua). Claim reads it on every call, so it
-- holds from the next claim on; the queue's rate limit is kept. The ctl entry wakes blocked workers, those
-- a claim refused at the old concurrency among them, so a raised or removed one is used at once.
-- KEYS: meta ctl
-- ARGV: concurrency
-- Returns: OK
-- Events: none
-- Loops: none
--@include status
--@include queue-limits
local metaKey, ctlKey = KEYS[1], KEYS[2]
local concurrency = tonumber(ARGV[1])
putConcurrencyRule(metaKey, readQueueRule(metaKey), concurrency)
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'concurrency', ARGV[1])
return STATUS.OK

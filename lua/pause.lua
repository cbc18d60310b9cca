-- pause: stop (paused = 1) or restart (paused = 0) handing out jobs; running jobs finish either way.
-- The ctl entry wakes every worker blocked on the queue so it sees the change at once.
-- KEYS: meta ctl events
-- ARGV: paused eventsMaxLen
-- Returns: OK
-- Events: paused | resumed
-- Loops: none
--@include status
--@include events
local metaKey, ctlKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local paused, maxLen = ARGV[1], tonumber(ARGV[2])
redis.call('HSET', metaKey, 'paused', paused)
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'paused', paused)
if paused == '1' then emit(eventsKey, maxLen, 'paused') else emit(eventsKey, maxLen, 'resumed') end
flushEvents()
return STATUS.OK

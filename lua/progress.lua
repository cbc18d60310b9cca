-- progress: record a job's progress (msgpack) and tell QueueEvents listeners.
-- KEYS: job events
-- ARGV: id progress eventsMaxLen
-- Returns: OK | JOB_MISSING
-- Events: progress
-- Loops: none
--@include status
--@include events
if redis.call('EXISTS', KEYS[1]) == 0 then return STATUS.JOB_MISSING end
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
emit(KEYS[2], tonumber(ARGV[3]), 'ev', 'progress', 'id', ARGV[1], 'progress', ARGV[2])
flushEvents()
return STATUS.OK

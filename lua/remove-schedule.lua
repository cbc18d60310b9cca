-- remove-schedule: delete a recurring schedule, its next run and its run count. Jobs it already enqueued
-- stay.
-- KEYS: schedules scheduleNext scheduleRuns
-- ARGV: scheduleId
-- Returns: 1 when the schedule existed, 0 when it did not
-- Events: none
-- Loops: none

local id = ARGV[1]
local existed = redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
return existed

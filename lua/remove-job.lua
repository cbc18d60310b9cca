-- remove-job: delete one job and its logs, wherever it waits; a running job is refused.
-- KEYS: delayed completed failed events wait...
-- ARGV: base id eventsMaxLen
-- Returns: OK | JOB_MISSING | JOB_ACTIVE
-- Events: removed
-- Loops: none
--@include status
--@include keys
--@include events
local delayedKey, completedKey, failedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waits = waitKeys(5)
local base, id, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local job = redis.call('HMGET', jobKey(base, id), 'state', 'entry', 'prio')
local state = job[1]
if not state then return STATUS.JOB_MISSING end
if state == 'active' then return STATUS.JOB_ACTIVE end
if state == 'waiting' then
  redis.call('XDEL', waits[tonumber(job[3]) + 1], job[2])
elseif state == 'delayed' then
  redis.call('ZREM', delayedKey, id)
elseif state == 'completed' then
  redis.call('ZREM', completedKey, id)
elseif state == 'failed' then
  redis.call('ZREM', failedKey, id)
end
redis.call('DEL', jobKey(base, id), logsKey(base, id))
emit(eventsKey, maxLen, 'ev', 'removed', 'id', id)
return STATUS.OK

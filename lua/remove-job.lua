-- remove-job: delete one job and its logs, wherever it waits; a running job is refused.
-- KEYS: meta delayed completed failed events groups... streams...
-- ARGV: base id eventsMaxLen
-- Returns: OK | JOB_MISSING | JOB_ACTIVE
-- Events: removed
-- Loops: none
--@include status
--@include keys
--@include events
--@include groups
local metaKey, delayedKey, completedKey, failedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(6 + GROUP_KEY_COUNT)
local base, id, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local job = redis.call('HMGET', jobKey(base, id), 'state', 'entry', 'prio', 'grp')
local state, g = job[1], job[4]
if not state then return STATUS.JOB_MISSING end
if state == 'active' then return STATUS.JOB_ACTIVE end
if state == 'waiting' and g and g ~= '' then
  -- Its group keeps its place; claim finds the group empty (or not) when it next serves it.
  if redis.call('ZREM', groupWaitKey(base, g), id) == 1 then redis.call('HINCRBY', metaKey, 'gwaiting', -1) end
elseif state == 'waiting' then
  redis.call('XDEL', levels[tonumber(job[3]) + 1], job[2])
elseif state == 'delayed' then
  redis.call('ZREM', delayedKey, id)
elseif state == 'completed' then
  redis.call('ZREM', completedKey, id)
elseif state == 'failed' then
  redis.call('ZREM', failedKey, id)
end
redis.call('DEL', jobKey(base, id), logsKey(base, id))
emit(eventsKey, maxLen, 'ev', 'removed', 'id', id)
flushEvents()
return STATUS.OK

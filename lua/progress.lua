-- progress: record a job's progress (msgpack) and tell QueueEvents listeners. Progress lives in the job's
-- hash; a job on a stream without one (added fresh) gets a locator hash holding it (record.lua).
-- KEYS: events streams...
-- ARGV: base group id progress eventsMaxLen
-- Returns: OK | JOB_MISSING
-- Events: progress
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include events
--@include locate
local eventsKey = KEYS[1]
local streams, levels = streamKeys(KEYS, 2)
local base, group, id, progress = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local state, index, entry = locate(base, group, streams, levels, id)
if not state then return STATUS.JOB_MISSING end
if index then
  redis.call('HSET', jobKey(base, id), 'state', 'queued', 'entry', entry, 'lvl', index, 'progress', progress)
else
  redis.call('HSET', jobKey(base, id), 'progress', progress)
end
emit(eventsKey, tonumber(ARGV[5]), 'progress', id, progress)
flushEvents()
return STATUS.OK

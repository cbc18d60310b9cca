-- remove-job: delete one job and its logs, wherever it waits; a running job is refused.
-- KEYS: meta delayed completed failed events groups... streams...
-- ARGV: base group id eventsMaxLen
-- Returns: OK | JOB_MISSING | JOB_ACTIVE
-- Events: removed
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include events
--@include groups
--@include locate
--@include dedupe
--@include labels
local metaKey, delayedKey, completedKey, failedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, id, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local state, index, entry = locate(base, group, streams, levels, id)
if not state then return STATUS.JOB_MISSING end
if state == 'active' then return STATUS.JOB_ACTIVE end
if index then
  -- Waiting on a stream: the entry goes, so the derived waiting count drops with XLEN.
  redis.call('XDEL', streams[index + 1], entry)
elseif state == 'waiting' then
  -- Its group keeps its place; claim finds the group empty (or not) when it next serves it.
  local g, prio = unpack(redis.call('HMGET', jobKey(base, id), 'grp', 'prio'))
  if g then
    if redis.call('ZREM', groupWaitKey(base, g), id) == 1 then redis.call('HINCRBY', metaKey, 'gwaiting', -1) end
  elseif prio and redis.call('ZREM', frontKey(base, prio), id) == 1 then
    -- Given back by a RateLimitError: in its level's front (release.lua).
    redis.call('HINCRBY', metaKey, 'front', -1)
  end
elseif state == 'delayed' then
  redis.call('ZREM', delayedKey, id)
elseif state == 'completed' then
  redis.call('ZREM', completedKey, id)
  redis.call('HDEL', doneKey(base), id)
elseif state == 'failed' then
  redis.call('ZREM', failedKey, id)
end
releaseDedupe(base, id)
dropLabelsIf(base, metaKey, { id }, labelPhase(state))
redis.call('DEL', jobKey(base, id), logsKey(base, id))
emit(eventsKey, maxLen, 'removed', id, '')
flushEvents()
return STATUS.OK

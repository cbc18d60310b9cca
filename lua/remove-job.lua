-- remove-job: delete one job and its logs, wherever it waits; a running job is refused. A batch member
-- removed before it settled (waiting, delayed) will never run: its batch counts it failed (batches.lua), and
-- this may be the batch's last settle; a finished member's removal changes no count.
-- KEYS: id meta delayed completed failed events ctl groups... streams...
-- ARGV: base group id eventsMaxLen
-- Returns: OK | JOB_MISSING | JOB_ACTIVE
-- Events: removed; waiting, failed or removed for the jobs that waited for it (dependents.lua); added (a
--   batch's callback, when the job was its last member pending)
-- Loops: one XRANGE per level at most (locate); the dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include events
--@include groups
--@include locate
--@include dedupe
--@include clock
--@include dependents
--@include labels
--@include batches
local idKey, metaKey, delayedKey, completedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local streams, levels = streamKeys(KEYS, 8 + GROUP_KEY_COUNT)
local base, group, id, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return STATUS.JOB_MISSING end
if state == 'active' then return STATUS.JOB_ACTIVE end
local member
if state == 'waiting' or state == 'delayed' then
  if fields then member = batchOf(entryJob(entry, fields, index).opts) else member = batchOf(redis.call('HGET', jobKey(base, id), 'opts')) end
end
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
elseif state == 'blocked' then
  redis.call('ZREM', blockedKey(base), id)
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
if member then
  local C = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 8), ctl = ctlKey, meta = metaKey, now = nowMs() }
  moveBatch(C, member, -1, 1, eventsKey, maxLen)
end
-- A removed job ends for the jobs that wait for it, as a failed one does, and leaves those it waited for.
if redis.call('SISMEMBER', linkedKey(base), id) == 1 then
  local C = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 8), ctl = ctlKey, meta = metaKey, now = nowMs(),
    failed = failedKey, events = eventsKey, maxLen = maxLen }
  LINKS.settle(C, { { C, id, 'r', '' } })
end
flushEvents()
return STATUS.OK

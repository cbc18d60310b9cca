-- update-data: replace one job's data. A job in a hash (delayed, waiting in its group or its level's front,
-- failed: fix its data, then retry it) is changed in place. A job waiting on a stream gets a new entry with
-- the new data at the back of its level: an entry cannot be changed, and a stream takes new entries only
-- above its last one. A running job is refused (its worker holds the data it runs with, and a retry writes
-- that back), and so is a completed one.
-- KEYS: id events streams...
-- ARGV: base group id data eventsMaxLen
-- Returns: {status, state, 0}: OK | JOB_MISSING | JOB_ACTIVE | WRONG_STATE (completed) | CORRUPT (its stored
--   fields cannot be used: nothing changed; remove it); state is the job's ('' when missing)
-- Events: updated
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include events
--@include locate
--@include waiting

local idKey, eventsKey = KEYS[1], KEYS[2]
local streams, levels = streamKeys(KEYS, 3)
local base, group, id, data, maxLen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return { STATUS.JOB_MISSING, '', 0 } end
if state == 'active' then return { STATUS.JOB_ACTIVE, state, 0 } end
if state == 'completed' then return { STATUS.WRONG_STATE, state, 0 } end
if index then
  local j = entryJob(entry, fields, index)
  if jobProblem(j, #levels) then return { STATUS.CORRUPT, state, 0 } end
  j.data = data
  redis.call('XDEL', streams[index + 1], entry)
  local moved = nextEntryId(idKey)
  -- It keeps the time it became ready: the oldest waiting job's age (metrics) stays true.
  appendJob(streams[index + 1], moved, j, int(entryReadyAt(fields) or tonumber(j.ts)))
  markQueued(base, id, moved, int(index))
else
  redis.call('HSET', jobKey(base, id), 'data', data)
end
emit(eventsKey, maxLen, 'updated', id, '')
flushEvents()
return { STATUS.OK, state, 0 }

-- change-priority: move one waiting or delayed job to another priority level. A job waiting on a stream
-- gets a new entry at the back of its new level (a stream takes entries only above its last one); one
-- waiting in its group keeps its place among the group's jobs added before and after it (its score's
-- sequence part), at its new level; one in a level's front moves to the new level's front at the same
-- place; a delayed job keeps its due time. Waiting counts stay exact: one entry leaves a stream as one joins
-- another, and a group's or a front's count does not change.
-- KEYS: id events streams...
-- ARGV: base group id priority eventsMaxLen
-- Returns: {status, state, 0}: OK | JOB_MISSING | JOB_ACTIVE | WRONG_STATE (completed or failed) |
--   LEVELS_MISMATCH (priority is not a level of this queue) | CORRUPT (its stored fields cannot be used:
--   nothing changed); state is the job's ('' when missing)
-- Events: priority (value: the new level)
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include events
--@include groups
--@include locate
--@include waiting

local idKey, eventsKey = KEYS[1], KEYS[2]
local streams, levels = streamKeys(KEYS, 3)
local base, group, id, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
local prio = tonumber(ARGV[4])
if not prio or not levels[prio + 1] then return { STATUS.LEVELS_MISMATCH, '', 0 } end
local prioS = int(prio)
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return { STATUS.JOB_MISSING, '', 0 } end
if state == 'active' then return { STATUS.JOB_ACTIVE, state, 0 } end
if state ~= 'waiting' and state ~= 'delayed' then return { STATUS.WRONG_STATE, state, 0 } end
local j = jobAt(base, id, index, entry, fields)
if not j or jobProblem(j, #levels) then return { STATUS.CORRUPT, state, 0 } end
local old = tonumber(j.prio)
if index then
  if index ~= prio then
    j.prio = prioS
    redis.call('XDEL', streams[index + 1], entry)
    local moved = nextEntryId(idKey)
    appendJob(levels[prio + 1], moved, j, int(entryReadyAt(fields) or tonumber(j.ts)))
    markQueued(base, id, moved, prioS)
  end
else
  if state == 'waiting' and old ~= prio then
    if j.grp ~= '' then
      local waitKey = groupWaitKey(base, j.grp)
      local score = tonumber(redis.call('ZSCORE', waitKey, id))
      if score then redis.call('ZADD', waitKey, prio * PRIO_SCALE + math.fmod(score, PRIO_SCALE), id) end
    else
      local score = redis.call('ZSCORE', frontKey(base, j.prio), id)
      if score then
        redis.call('ZREM', frontKey(base, j.prio), id)
        redis.call('ZADD', frontKey(base, prioS), score, id)
      end
    end
  end
  redis.call('HSET', jobKey(base, id), 'prio', prioS)
end
emit(eventsKey, maxLen, 'priority', id, prioS)
flushEvents()
return { STATUS.OK, state, 0 }

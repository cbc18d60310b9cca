-- change-delay: set when one waiting or delayed job may start: `delay` ms from now on Redis' clock, or at
-- `runAt`. A delayed job gets its new due time, or becomes waiting at once when that time has come (as a
-- promotion). A waiting job with a time still to come becomes delayed: it leaves where it waits (its stream
-- entry, its group, its level's front) and, once due, goes to the back of its level (or its group) as a
-- promoted job does. A waiting job whose new time has come stays as it is. Running and finished jobs are
-- refused.
-- KEYS: id meta delayed events ctl groups... streams...
-- ARGV: base group id delay runAt eventsMaxLen
--   delay = ms from now (-1: use runAt); runAt = absolute ms
-- Returns: {status, state, due}: OK with the state it is in now (delayed or waiting) and its due time (ms;
--   Redis' time when it is waiting) | JOB_MISSING | JOB_ACTIVE | WRONG_STATE (completed or failed) |
--   CORRUPT (its stored fields cannot be used: nothing changed); state is the job's ('' when missing)
-- Events: rescheduled (value: the due time)
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include clock
--@include events
--@include schedule
--@include enqueue
--@include locate
--@include waiting

local idKey, metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, id, delay, runAt, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local exact = nowMsExact()
local now = math.floor(exact)
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now }
-- Rounded up, as add.lua does: never due before `delay` ms have passed.
local due = runAt
if delay >= 0 then due = math.ceil(exact + delay) end
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return { STATUS.JOB_MISSING, '', 0 } end
if state == 'active' then return { STATUS.JOB_ACTIVE, state, 0 } end
if state ~= 'waiting' and state ~= 'delayed' then return { STATUS.WRONG_STATE, state, 0 } end
local j = jobAt(base, id, index, entry, fields)
if not j or jobProblem(j, #levels) then return { STATUS.CORRUPT, state, 0 } end
local after = state
-- A delay of 0 is now, not the next ms (ceil of a time with µs).
if delay == 0 or due <= now then
  due = now
  if state == 'delayed' then
    redis.call('ZREM', delayedKey, id)
    redis.call('HDEL', jobKey(base, id), 'due')
    enqueue(Q, j, true)
    after = 'waiting'
  end
else
  local schedule = newSchedule(delayedKey, ctlKey)
  if state == 'delayed' then
    redis.call('HSET', jobKey(base, id), 'due', int(due))
    schedule.add(id, due)
  else
    takeWaiting(Q, streams, j, index, entry)
    makeDelayed(Q, schedule, j, due)
    after = 'delayed'
  end
  schedule.flush()
end
emit(eventsKey, maxLen, 'rescheduled', id, int(due))
flushEvents()
return { STATUS.OK, after, due }

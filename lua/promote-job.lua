-- promote-job: a delayed job (waiting out its delay or a retry's backoff) becomes waiting now, at the back
-- of its level (or its group), as claim promotes a due one.
-- KEYS: id meta delayed events ctl groups... streams...
-- ARGV: base group id eventsMaxLen
-- Returns: {status, state, 0}: OK | JOB_MISSING | WRONG_STATE (it is not delayed) | CORRUPT (its stored
--   fields cannot be used: nothing changed; remove it); state is the job's ('' when missing)
-- Events: promoted
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include clock
--@include events
--@include enqueue
--@include locate

local idKey, metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, id, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local state = locate(base, group, streams, levels, id)
if not state then return { STATUS.JOB_MISSING, '', 0 } end
if state ~= 'delayed' then return { STATUS.WRONG_STATE, state, 0 } end
local j = recordJob(base, id)
if not j or jobProblem(j, #levels) then return { STATUS.CORRUPT, state, 0 } end
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = nowMs() }
redis.call('ZREM', delayedKey, id)
redis.call('HDEL', jobKey(base, id), 'due')
enqueue(Q, j, true)
emit(eventsKey, maxLen, 'promoted', id, '')
flushEvents()
return { STATUS.OK, state, 0 }

-- run-schedule: enqueue a schedule's job now, outside its ticks (an operator's "run now"). The job id is
-- `<scheduleId>:now:<ms>` on Redis' clock, so it never takes a tick's id (`<scheduleId>:<tick ms>`); the
-- schedule's next run and run count stay as they are (its limit counts ticks). Only while the stored
-- definition is the one the caller read (its SHA1), as fire-schedule checks it: the job is made from the
-- definition the caller decoded, never from one changed or removed meanwhile.
-- KEYS: schedules id meta events ctl groups... streams...
-- ARGV: base eventsMaxLen scheduleId defSha name data opts prio group
--   defSha = SHA1 (hex) of the definition the caller read; name data opts prio group = its job, stored as
--   add stores them
-- Returns: {OK, job id} (created)
--        | {DUPLICATE, job id} (a run now in the same ms made it already: not created again)
--        | {STALE, ''} (the schedule changed or was removed: read it again)
-- Events: added (when a job is created)
-- Loops: none
--@include status
--@include keys
--@include clock
--@include events
--@include enqueue

local schedulesKey, idKey, metaKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, maxLen, id, defSha = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local name, data, opts, prio, g = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]

local definition = redis.call('HGET', schedulesKey, id)
if not definition or redis.sha1hex(definition) ~= defSha then return { STATUS.STALE, '' } end
local now = nowMs()
local jobId = id .. ':now:' .. int(now)
if redis.call('EXISTS', jobKey(base, jobId)) == 1 or redis.call('HEXISTS', doneKey(base), jobId) == 1 then
  return { STATUS.DUPLICATE, jobId }
end
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now }
enqueue(Q, { id = jobId, name = name, data = data, opts = opts, ts = int(now), prio = prio, grp = g, ats = '0', atm = '0', stalls = '0' }, false)
emit(eventsKey, maxLen, 'added', jobId, name)
flushEvents()
return { STATUS.OK, jobId }

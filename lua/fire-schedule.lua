-- fire-schedule: fire one tick of a recurring schedule, exactly once however many processes try. A
-- compare-and-set: only while the schedule's next run is still `expected`, its definition is still the
-- one the caller planned from, and `expected` is due on Redis' clock, it enqueues the tick's job (a
-- deterministic id: a job that exists is not created again), counts the run, and moves the next run on.
-- Every other caller gets STALE and changes nothing.
-- KEYS: schedules scheduleNext scheduleRuns id meta events ctl groups... streams...
-- ARGV: base eventsMaxLen scheduleId defSha expected next limit jobId name data opts prio group
--   defSha = SHA1 (hex) of the definition the caller read; expected = the next run it read (ms); next =
--   the run after this one (ms) or -1 (the schedule ends); limit = runs after which it ends, or -1; jobId
--   '' = move on without a job (a missed tick under the 'skip' policy); name data opts prio group = the
--   job, stored as add stores them
-- Returns: {OK, next run or -1} (fired: job created, or none asked for)
--        | {DUPLICATE, next run or -1} (fired, but a job with that id exists: not created again)
--        | {STALE, the schedule's next run or -1} (another caller fired it, or it changed or was removed)
--        | {NOT_DUE, the schedule's next run} (expected is later than Redis' clock: nothing changed)
-- Events: added (when a job is created)
-- Loops: none
--@include status
--@include keys
--@include clock
--@include events
--@include enqueue

local schedulesKey, nextKey, runsKey, idKey, metaKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local _, levels = streamKeys(KEYS, 8 + GROUP_KEY_COUNT)
local base, maxLen, id, defSha = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local expected, nextRun, limit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local jobId, name, data, opts, prio, g = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]

local score = redis.call('ZSCORE', nextKey, id)
local current = score and tonumber(score) or -1
if current ~= expected then return { STATUS.STALE, current } end
local definition = redis.call('HGET', schedulesKey, id)
if not definition or redis.sha1hex(definition) ~= defSha then return { STATUS.STALE, current } end
local now = nowMs()
if expected > now then return { STATUS.NOT_DUE, current } end

local status = STATUS.OK
if jobId ~= '' then
  if redis.call('EXISTS', jobKey(base, jobId)) == 1 or redis.call('HEXISTS', doneKey(base), jobId) == 1 then
    status = STATUS.DUPLICATE
  else
    local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 8), ctl = ctlKey, meta = metaKey, now = now }
    enqueue(Q, { id = jobId, name = name, data = data, opts = opts, ts = int(now), prio = prio, grp = g, ats = '0', atm = '0', stalls = '0' }, false)
    emit(eventsKey, maxLen, 'added', jobId, name)
    local runs = redis.call('HINCRBY', runsKey, id, 1)
    if limit > 0 and runs >= limit then nextRun = -1 end
  end
end
if nextRun < 0 then
  redis.call('ZREM', nextKey, id)
else
  redis.call('ZADD', nextKey, nextRun, id)
end
flushEvents()
return { status, nextRun }

-- add: create one or many jobs; each becomes waiting (on its level's stream, or in its group), or delayed
-- when it is due later.
-- KEYS: id meta delayed events ctl groups... streams...
-- ARGV: base eventsMaxLen spent count jobs | per job, packed in jobs: jobId name data opts prio delay runAt group
--   count = the jobs in `jobs` (packed.lua); spent = ms the producer spent between its add() call and sending this script (measured on its
--   monotonic clock): the jobs' timestamp is Redis' clock minus that, and delays count from it, so a
--   bulk's encoding time does not make its delayed jobs late, and none becomes due before `delay` ms of
--   Redis' clock have passed since the call;
--   jobId '' = generate one; delay = ms, or -1; runAt = absolute ms, or -1; group '' = none.
--   name, data (msgpack) and opts (msgpack) are stored as given.
-- Returns: per job, its id then OK (created) or DUPLICATE (a job with that jobId exists: nothing changed) or
--   LEVELS_MISMATCH (its priority is not a level of this queue: nothing written for it)
-- Events: added (per created job); a ctl entry when a delayed job becomes the earliest due, or an idle
--         group gets work; active, for each job handed to an idle worker (handoff.lua)
-- Hands off: when workers wait for work (`waiters`), the jobs this call made ready are claimed for them
--         here, as their own claim would, and written to their wake streams (handoff.lua)
-- Loops: one pass over the call's `count` jobs; the caller sends at most 200 per call; while workers wait,
--        one more pass (which jobs are ready) and one claim per waiting worker taken (handoff.lua)
--
-- Every job takes a number from the id counter (one INCRBY per call): a generated id is that number, and a
-- job that is ready at once goes on its stream as entry "<number>-0" (entry.lua). A ready job with a
-- generated id and no group is one XADD in the fresh layout and nothing else: no hash, no index.
--@include status
--@include keys
--@include clock
--@include events
--@include schedule
--@include groups
--@include entry
--@include record
--@include packed
--@include handoff

local idKey, metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, maxLen, spent, count, jobs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local exact = nowMsExact()
local now = math.floor(exact)
-- What a grouped job needs (groups.lua) and the delayed set's batch, made only for a call that has such a
-- job: a single add of a ready job, the common call, allocates neither (every table a call makes is also
-- garbage Redis' Lua collects).
local Q, delayed
local function grouped()
  Q = Q or { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now }
  return Q
end
local function schedule()
  delayed = delayed or newSchedule(delayedKey, ctlKey)
  return delayed
end
local JOB = packedFormat(8)
-- When add() was called, on Redis' clock to the µs (no earlier than the call: `spent` is floored): what a
-- delay counts from, rounded up (so a job is never due early), and floored, the job's timestamp (so a
-- claim in the same ms never has processedOn before it).
local created = exact - math.max(0, spent)
local createdS = int(math.floor(created))

local number = redis.call('INCRBY', idKey, count) - count

-- Workers waiting for work (handoff.lua), taken before anything is written, for as many jobs as this call
-- makes ready at once: the jobs handed to them come out of the writes below.
local waiters, ready = waitersFor(base, now, JOB, jobs, count)

local out = {}
local at = 1
for _ = 1, count do
  number = number + 1
  local id, name, data, opts, prioS, delayS, runAtS, g, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local delay, runAt = tonumber(delayS), tonumber(runAtS)
  local status = STATUS.OK
  local fresh = id == ''
  -- A priority that is not a level of this queue costs that job, not the call: the jobs before it are
  -- written already (sluice's Queue checks first; a producer in another language might not).
  if not levels[(tonumber(prioS) or -1) + 1] then
    status = STATUS.LEVELS_MISMATCH
  elseif fresh then
    id = int(number)
  elseif redis.call('EXISTS', jobKey(base, id)) == 1 or redis.call('HEXISTS', doneKey(base), id) == 1 then
    status = STATUS.DUPLICATE
  end
  if status == STATUS.OK then
    local due = -1
    if delay > 0 then due = math.ceil(created + delay) elseif runAt > now then due = runAt end
    -- Due already (the delay was shorter than the time spent getting here): waiting at once.
    if due <= now then due = -1 end
    local entry = int(number) .. '-0'
    -- Counters that start at 0 (ats, atm, stalls) and an empty group are left out of a hash: readers take a
    -- missing field as 0 or none.
    if fresh and due < 0 and g == '' then
      redis.call('XADD', levels[tonumber(prioS) + 1], entry, 'name', name, 'data', data, 'opts', opts, 'ts', createdS)
    elseif due > 0 then
      local key = jobKey(base, id)
      schedule().add(id, due)
      if g ~= '' then
        redis.call('HSET', key, 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'due', int(due))
      else
        redis.call('HSET', key, 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'due', int(due))
      end
    elseif g ~= '' then
      redis.call('HSET', jobKey(base, id), 'state', 'waiting', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g)
      enqueueGrouped(grouped(), id, tonumber(prioS), g)
    else
      local j = { id = id, name = name, data = data, opts = opts, ts = createdS, prio = prioS, grp = '', ats = '0', atm = '0', stalls = '0' }
      appendJob(levels[tonumber(prioS) + 1], entry, j, createdS)
      markQueued(base, id, entry, prioS)
    end
    emit(eventsKey, maxLen, 'added', id, name)
  end
  out[#out + 1] = id
  out[#out + 1] = status
end
if delayed then delayed.flush() end
if waiters then
  local H = grouped()
  H.failed, H.events, H.maxLen, H.exact = queueKeysOf(base).failed, eventsKey, maxLen, exact
  handOff(H, delayedKey, rateKeyOf(base), streams, CONSUMER_GROUP, waiters, ready)
end
flushEvents()
return out

-- add: create one or many jobs; each becomes waiting (on its level's stream, or in its group), or delayed
-- when it is due later.
-- KEYS: id meta delayed events ctl groups... streams...
-- ARGV: base eventsMaxLen spent | per job: jobId name data opts prio delay runAt group
--   spent = ms the producer spent between its add() call and sending this script (measured on its
--   monotonic clock): the jobs' timestamp is Redis' clock minus that, and delays count from it, so a
--   bulk's encoding time does not make its delayed jobs late, and none becomes due before `delay` ms of
--   Redis' clock have passed since the call;
--   jobId '' = generate one (INCRBY once per call); delay = ms, or -1;
--   runAt = absolute ms, or -1; group '' = none. name, data (msgpack) and opts (msgpack) are stored as given.
-- Returns: per job, its id then OK (created) or DUPLICATE (a job with that jobId exists: nothing changed)
-- Events: added (per created job); a ctl entry when a delayed job becomes the earliest due, or an idle
--         group gets work
-- Loops: one pass over the call's jobs; the caller sends at most 1,000 per call
--@include status
--@include keys
--@include clock
--@include events
--@include schedule
--@include groups

local idKey, metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(6 + GROUP_KEY_COUNT)
local base, maxLen, spent = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local Q = { base = base, levels = levels, G = groupKeys(6), ctl = ctlKey, meta = metaKey, now = nowMs() }
local FIRST, FIELDS = 4, 8
local count = (#ARGV - FIRST + 1) / FIELDS
local now = Q.now
-- When add() was called, on Redis' clock: the job's timestamp, and what its delay counts from.
local created = now - math.max(0, spent)
local createdS = int(created)

local generated = 0
for i = 0, count - 1 do
  if ARGV[FIRST + i * FIELDS] == '' then generated = generated + 1 end
end
local nextId = 0
if generated > 0 then nextId = redis.call('INCRBY', idKey, generated) - generated end

local out = {}
for i = 0, count - 1 do
  local o = FIRST + i * FIELDS
  local id, name, data, opts = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3]
  local prioS, delay, runAt, g = ARGV[o + 4], tonumber(ARGV[o + 5]), tonumber(ARGV[o + 6]), ARGV[o + 7]
  local prio = tonumber(prioS)
  local status = STATUS.OK
  if id == '' then
    nextId = nextId + 1
    id = tostring(nextId)
  elseif redis.call('EXISTS', jobKey(base, id)) == 1 then
    status = STATUS.DUPLICATE
  end
  if status == STATUS.OK then
    local due = -1
    if delay > 0 then due = created + delay elseif runAt > now then due = runAt end
    -- Due already (the delay was shorter than the time spent getting here): waiting at once.
    if due <= now then due = -1 end
    local key = jobKey(base, id)
    -- Counters that start at 0 (ats, atm, stalls) and an empty group are left out: readers take a missing
    -- field as 0 or none. Fewer fields, less memory and a cheaper HSET on every add.
    if due > 0 then
      schedule(delayedKey, ctlKey, id, due)
      if g ~= '' then
        redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'state', 'delayed', 'due', int(due))
      else
        redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'state', 'delayed', 'due', int(due))
      end
    elseif g ~= '' then
      enqueueGrouped(Q, id, prio, g)
      redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'state', 'waiting')
    else
      local entry = redis.call('XADD', levels[prio + 1], '*', 'id', id)
      redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'state', 'waiting', 'entry', entry)
    end
    emit(eventsKey, maxLen, 'ev', 'added', 'id', id, 'name', name)
  end
  out[#out + 1] = id
  out[#out + 1] = status
end
flushEvents()
return out

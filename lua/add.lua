-- add: create one or many jobs; each becomes waiting on its level's stream, or delayed when due later.
-- KEYS: id delayed events ctl wait...
-- ARGV: base eventsMaxLen | per job: jobId name data opts prio delay runAt
--   jobId '' = generate one (INCRBY once per call); delay = ms after Redis' clock, or -1;
--   runAt = absolute ms, or -1. name, data (msgpack) and opts (msgpack) are stored as given.
-- Returns: per job, its id then OK (created) or DUPLICATE (a job with that jobId exists: nothing changed)
-- Events: added (per created job); a ctl entry when a delayed job becomes the earliest due
-- Loops: one pass over the call's jobs; the caller sends at most 1,000 per call
--@include status
--@include keys
--@include clock
--@include events
--@include schedule

local idKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waits = waitKeys(5)
local base, maxLen = ARGV[1], tonumber(ARGV[2])
local FIRST, FIELDS = 3, 7
local count = (#ARGV - FIRST + 1) / FIELDS
local now = nowMs()

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
  local prio, delay, runAt = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5]), tonumber(ARGV[o + 6])
  local status = STATUS.OK
  if id == '' then
    nextId = nextId + 1
    id = tostring(nextId)
  elseif redis.call('EXISTS', jobKey(base, id)) == 1 then
    status = STATUS.DUPLICATE
  end
  if status == STATUS.OK then
    local due = -1
    if delay > 0 then due = now + delay elseif runAt > now then due = runAt end
    local key = jobKey(base, id)
    if due > 0 then
      schedule(delayedKey, ctlKey, id, due)
      redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prio, 'ts', now,
        'ats', 0, 'atm', 0, 'stalls', 0, 'state', 'delayed', 'due', due)
    else
      local entry = redis.call('XADD', waits[prio + 1], '*', 'id', id)
      redis.call('HSET', key, 'name', name, 'data', data, 'opts', opts, 'prio', prio, 'ts', now,
        'ats', 0, 'atm', 0, 'stalls', 0, 'state', 'waiting', 'entry', entry)
    end
    emit(eventsKey, maxLen, 'ev', 'added', 'id', id, 'name', name)
  end
  out[#out + 1] = id
  out[#out + 1] = status
end
return out

-- batch-add: open a batch, add members to it, seal it: any of the three, in this order, as one atomic call.
-- Members are written as add.lua writes jobs (a ready one is one XADD in the fresh layout, a delayed or
-- grouped one a hash), with the batch's id put first into their options (batches.lua withBatch); the
-- batch's total and pending go up by the call's members with one HINCRBY each (batches.lua has the hash's
-- fields). A seal that finds nothing pending fires the callbacks at once.
-- KEYS: id meta delayed events ctl groups... streams...
-- ARGV: base eventsMaxLen spent count batch open seal keep onComplete onSuccess jobs | per job, packed in jobs: name data opts prio delay runAt group
--   count = the jobs in `jobs`; spent, delay, runAt, group as add.lua takes them (members never have a
--   jobId: theirs are generated); batch = the batch's id, '' with open = '1' to generate one from the id
--   counter; open = '1' to create the batch (keep = seconds its hash is kept once nothing is pending;
--   onComplete, onSuccess = the callback jobs packed as batches.lua reads them, '' for none; all three are
--   read only with open); seal = '1' to seal it after this call's members
-- Returns: {OK, the batch's id, the first member's id (the others follow it, one number each)}
--   | {BATCH_EXISTS} (open: a batch with that id exists) | {BATCH_MISSING} (no such batch: never opened,
--   or expired once done) | {BATCH_SEALED} (it was sealed: nothing can be added, it cannot be sealed again)
--   | {LEVELS_MISMATCH} (a member's or callback's priority is not a level of this queue);
--   nothing is written unless OK
-- Events: added (per member, and per callback fired by the seal)
-- Loops: two passes over the call's `count` jobs (check, then write); the caller sends at most 200 per call;
--   with open, at most 100 expired ids dropped from the batches' index
--@include status
--@include keys
--@include clock
--@include events
--@include schedule
--@include groups
--@include packed
--@include batches

local idKey, metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, maxLen, spent, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local batch, open, seal, keep = ARGV[5], ARGV[6] == '1', ARGV[7] == '1', ARGV[8]
local onComplete, onSuccess, jobs = ARGV[9], ARGV[10], ARGV[11]
local JOB = packedFormat(7)

-- Checks first: nothing is written unless the whole call can be.
local function isLevel(prio) return levels[(tonumber(prio) or -1) + 1] ~= nil end
local at = 1
for _ = 1, count do
  local _, _, _, prio, _, _, _, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  if not isLevel(prio) then return { STATUS.LEVELS_MISMATCH } end
end
local batchHash
if open then
  for _, spec in ipairs({ onComplete, onSuccess }) do
    if spec ~= '' and not isLevel(select(4, struct.unpack(CALLBACK, spec))) then return { STATUS.LEVELS_MISMATCH } end
  end
  if batch ~= '' and redis.call('EXISTS', batchKey(base, batch)) == 1 then return { STATUS.BATCH_EXISTS } end
else
  local sealed = redis.call('HMGET', batchKey(base, batch), 'total', 'sealed')
  if not sealed[1] then return { STATUS.BATCH_MISSING } end
  if sealed[2] then return { STATUS.BATCH_SEALED } end
end

local exact = nowMsExact()
local now = math.floor(exact)
local C = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now }
local index = batchesKey(base)
if open then
  if batch == '' then batch = int(redis.call('INCR', idKey)) end
  batchHash = batchKey(base, batch)
  redis.call('HSET', batchHash, 'total', '0', 'pending', '1', 'failed', '0', 'ts', int(now), 'keep', keep)
  if onComplete ~= '' then redis.call('HSET', batchHash, 'onComplete', onComplete) end
  if onSuccess ~= '' then redis.call('HSET', batchHash, 'onSuccess', onSuccess) end
  -- Ids of batches whose hash expired, a few per open: the index holds live batches and at most a few more.
  local expired = redis.call('ZRANGEBYSCORE', index, '-inf', int(now), 'LIMIT', '0', '100')
  if #expired > 0 then redis.call('ZREM', index, unpack(expired)) end
  redis.call('ZADD', index, '+inf', batch)
else
  batchHash = batchKey(base, batch)
end

-- The members, as add.lua writes jobs without a jobId (its comments say why each way).
local created = exact - math.max(0, spent)
local createdS = int(math.floor(created))
local first = redis.call('INCRBY', idKey, count) - count + 1
local number = first - 1
local delayed
at = 1
for _ = 1, count do
  number = number + 1
  local name, data, opts, prioS, delayS, runAtS, g, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local id = int(number)
  local delay, runAt = tonumber(delayS), tonumber(runAtS)
  opts = withBatch(opts, batch)
  local due = -1
  if delay > 0 then due = math.ceil(created + delay) elseif runAt > now then due = runAt end
  if due <= now then due = -1 end
  if due < 0 and g == '' then
    redis.call('XADD', levels[tonumber(prioS) + 1], id .. '-0', 'name', name, 'data', data, 'opts', opts, 'ts', createdS)
  elseif due > 0 then
    delayed = delayed or newSchedule(delayedKey, ctlKey)
    delayed.add(id, due)
    if g ~= '' then
      redis.call('HSET', jobKey(base, id), 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'due', int(due))
    else
      redis.call('HSET', jobKey(base, id), 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'due', int(due))
    end
  else
    redis.call('HSET', jobKey(base, id), 'state', 'waiting', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g)
    enqueueGrouped(C, id, tonumber(prioS), g)
  end
  emit(eventsKey, maxLen, 'added', id, name)
end
if delayed then delayed.flush() end
if count > 0 then
  redis.call('HINCRBY', batchHash, 'total', int(count))
  redis.call('HINCRBY', batchHash, 'pending', int(count))
end
if seal then
  redis.call('HSET', batchHash, 'sealed', int(now))
  -- The open batch's 1 in pending goes: 0 now means every member settled already.
  if redis.call('HINCRBY', batchHash, 'pending', -1) == 0 then batchDone(C, batchHash, batch, eventsKey, maxLen) end
end
flushEvents()
return { STATUS.OK, batch, int(first) }

-- add-deduped: add one job under a dedupe key (dedupe.lua), or hand back the job that holds the key: in
-- flight (ttl 0), while that job is unfinished; throttle (ttl > 0), for ttl ms after the add that made it,
-- whatever its state; debounce, within a window that each add renews for ttl ms: a job that has not started
-- gets this add's data and starts `delay` ms after this add, and a job that started or finished makes way
-- for a new one. Adds without a dedupe key never come here (add.lua): they pay nothing for it.
-- KEYS: id meta delayed completed events ctl locks windows groups... streams...
-- ARGV: base group eventsMaxLen spent key ttl debounce jobId name data opts prio delay runAt jobGroup labels
--   spent, jobId, name, data, opts, prio, delay, runAt: as add.lua takes them; jobGroup '' = none;
--   key = the dedupe key; ttl = the window in ms (0: in flight); debounce '1' or '0'; labels = the new job's
--   labels joined by '\n' ('' for none: labels.lua), indexed only when this add creates the job
-- Returns: {status, id, then the job as get-job returns it (view.lua)}: OK (created) | DEDUPLICATED (the job
--   that holds the key, unchanged) | DEBOUNCED (the job that holds the key, with this add's data and start) |
--   DUPLICATE (a job with that jobId exists: nothing changed) | {LEVELS_MISMATCH} (prio is not a level)
-- Events: added | deduplicated (value: the key) | debounced (value: the new due time)
-- Loops: at most 10 expired windows swept; one XRANGE per level at most (locate)
--@include status
--@include keys
--@include numbers
--@include clock
--@include events
--@include schedule
--@include groups
--@include entry
--@include record
--@include locate
--@include view
--@include dedupe
--@include waiting
--@include labels

local idKey, metaKey, delayedKey, completedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ctlKey, locksKey, windowsKey = KEYS[6], KEYS[7], KEYS[8]
local streams, levels = streamKeys(KEYS, 9 + GROUP_KEY_COUNT)
local base, group, maxLen, spent = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local key, ttl, debounce = ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1'
local jobId, name, data, opts, prioS = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local delay, runAt, g, labels = tonumber(ARGV[13]), tonumber(ARGV[14]), ARGV[15], ARGV[16]

local exact = nowMsExact()
local now = math.floor(exact)
-- As in add.lua: a delay counts from the add() call on Redis' clock, rounded up.
local created = exact - math.max(0, spent)
local createdS = int(math.floor(created))
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 9), ctl = ctlKey, meta = metaKey, now = now }
local delayed = newSchedule(delayedKey, ctlKey)

-- Windows that ended: their locks go, a few per add, so keys used once do not stay forever.
local ended = redis.call('ZRANGEBYSCORE', windowsKey, '-inf', int(now), 'LIMIT', '0', '10')
for _, k in ipairs(ended) do
  local _, untilMs = dedupeLock(locksKey, k)
  if untilMs and untilMs > 0 and untilMs <= now then redis.call('HDEL', locksKey, k) end
end
if #ended > 0 then redis.call('ZREM', windowsKey, unpack(ended)) end

-- The reply: the status, and the job as it is now.
local function answer(status, id)
  delayed.flush()
  flushEvents()
  local state, index, entry, fields = locate(base, group, streams, levels, id)
  if not state then return { status, id } end
  if state == 'completed' then return { status, id, doneView(base, id, redis.call('ZSCORE', completedKey, id) or '0') or {} } end
  return { status, id, jobView(base, id, state, index, entry, fields) }
end

-- Renews key's lock for job `id`: in flight (0), or a window until now + ttl.
local function lock(id)
  if ttl > 0 then
    redis.call('HSET', locksKey, key, int(now + ttl) .. ':' .. id)
    redis.call('ZADD', windowsKey, int(now + ttl), key)
  else
    redis.call('HSET', locksKey, key, '0:' .. id)
  end
end

local holder, untilMs = dedupeLock(locksKey, key)
if holder then
  local state, index, entry, fields = locate(base, group, streams, levels, holder)
  if untilMs > now and not debounce and state then
    emit(eventsKey, maxLen, 'deduplicated', holder, key)
    return answer(STATUS.DEDUPLICATED, holder)
  elseif untilMs > now and debounce and (state == 'waiting' or state == 'delayed') then
    local j = jobAt(base, holder, index, entry, fields)
    if j and not jobProblem(j, #levels) then
      -- Due `delay` after this add, or now when the call took longer than that (claim promotes it then).
      local due = math.max(math.ceil(created + delay), now)
      j.data = data
      if state == 'delayed' then
        redis.call('HSET', jobKey(base, holder), 'data', data, 'due', int(due))
        delayed.add(holder, due)
      else
        takeWaiting(Q, streams, j, index, entry)
        makeDelayed(Q, delayed, j, due)
      end
      lock(holder)
      emit(eventsKey, maxLen, 'debounced', holder, int(due))
      return answer(STATUS.DEBOUNCED, holder)
    end
    -- A job whose fields cannot be used is left to whoever meets it; this add makes a new one.
  elseif untilMs == 0 and state and state ~= 'completed' and state ~= 'failed' then
    emit(eventsKey, maxLen, 'deduplicated', holder, key)
    return answer(STATUS.DEDUPLICATED, holder)
  end
end

local prio = tonumber(prioS)
if not levels[(prio or -1) + 1] then return { STATUS.LEVELS_MISMATCH } end
local number = redis.call('INCRBY', idKey, 1)
local id = jobId
if id == '' then
  id = int(number)
elseif redis.call('EXISTS', jobKey(base, id)) == 1 or redis.call('HEXISTS', doneKey(base), id) == 1 then
  return answer(STATUS.DUPLICATE, id)
end
local due = -1
if delay > 0 then due = math.ceil(created + delay) elseif runAt > now then due = runAt end
if due <= now then due = -1 end
local jobHash = jobKey(base, id)
-- A job that holds a dedupe key always has a hash, for its `ddk` (dedupe.lua).
if due > 0 then
  if g ~= '' then
    redis.call('HSET', jobHash, 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'due', int(due), 'ddk', key)
  else
    redis.call('HSET', jobHash, 'state', 'delayed', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'due', int(due), 'ddk', key)
  end
  delayed.add(id, due)
elseif g ~= '' then
  redis.call('HSET', jobHash, 'state', 'waiting', 'name', name, 'data', data, 'opts', opts, 'prio', prioS, 'ts', createdS, 'grp', g, 'ddk', key)
  enqueueGrouped(Q, id, prio, g)
else
  local entry = int(number) .. '-0'
  local j = { id = id, name = name, data = data, opts = opts, ts = createdS, prio = prioS, grp = '', ats = '0', atm = '0', stalls = '0' }
  appendJob(levels[prio + 1], entry, j, createdS)
  markQueued(base, id, entry, prioS)
  redis.call('HSET', jobHash, 'ddk', key)
end
lock(id)
indexLabels(base, metaKey, id, labels, createdS)
emit(eventsKey, maxLen, 'added', id, name)
return answer(STATUS.OK, id)

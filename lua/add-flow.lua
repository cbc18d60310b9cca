-- add-flow: add jobs that depend on other jobs (src/flows.ts), all or none: a whole flow of up to
-- maxJobs jobs, or one job with `dependsOn` existing jobs. A job without open dependencies becomes waiting;
-- the others wait blocked until theirs end (dependents.lua). Everything is checked before anything is
-- written, so a refusal writes nothing.
-- KEYS: id meta failed events ctl groups... streams...
-- ARGV: base group eventsMaxLen maxDependents jobs | per job, packed in jobs: key jobId name data opts prio grp policy deps
--   jobs = in an order where each job comes after the jobs of this call it depends on (src/flows.ts sorts
--   them and refuses cycles); jobId '' = generate one; grp '' = none; policy = fail | ignore | remove |
--   onfail (dependents.lua); deps = the job's dependencies, packed as `jobs` is (packed.lua), each 'L<n>'
--   (the n-th job of this call, 1-based) or 'E<id>' (an existing job of this queue)
-- Returns: {OK, id of each job in order} | {JOB_MISSING, id} (a dependency that does not exist: never
--   added, removed, or deleted by retention) | {DUPLICATE, jobId} (a job with that id exists, or two jobs
--   of this call have it) | {LEVELS_MISMATCH, n} (job n's priority is not a level of this queue) |
--   {TOO_MANY_DEPENDENTS, id} (an existing job would have more than maxDependents dependents)
-- Events: added (per job); waiting, failed or removed for jobs whose dependencies had ended already
-- Loops: one pass over the jobs and one over their dependencies to check, one to write (the caller sends
--   at most 1,000 jobs and 10,000 dependencies); one locate per distinct existing dependency; the
--   dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include clock
--@include events
--@include packed
--@include record
--@include locate
--@include done
--@include dependents

local idKey, metaKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, maxLen, maxDependents, jobs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local now = nowMs()
local C = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now,
  failed = failedKey, events = eventsKey, maxLen = maxLen }

local JOB = packedFormat(9)
local list = {}
local at = 1
while at <= #jobs do
  local key, jobId, name, data, opts, prio, grp, policy, deps, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local refs, r = {}, 1
  while r <= #deps do
    local ref, nextR = struct.unpack('>I4c0', deps, r)
    r = nextR
    refs[#refs + 1] = ref
  end
  list[#list + 1] = { key = key, jobId = jobId, name = name, data = data, opts = opts, prio = prio, grp = grp, policy = policy, refs = refs }
end

-- Check everything first. External dependencies: where each is now, and how many dependents it gains.
local external, gains, given = {}, {}, {}
for n, job in ipairs(list) do
  if not levels[(tonumber(job.prio) or -1) + 1] then return { STATUS.LEVELS_MISMATCH, n } end
  if job.jobId ~= '' then
    if given[job.jobId] or redis.call('EXISTS', jobKey(base, job.jobId)) == 1 or redis.call('HEXISTS', doneKey(base), job.jobId) == 1 then
      return { STATUS.DUPLICATE, job.jobId }
    end
    given[job.jobId] = true
  end
  for _, ref in ipairs(job.refs) do
    if string.sub(ref, 1, 1) == 'E' then
      local id = string.sub(ref, 2)
      if not external[id] then
        local state = locate(base, group, streams, levels, id)
        if not state then return { STATUS.JOB_MISSING, id } end
        external[id] = state
        gains[id] = 0
      end
      gains[id] = gains[id] + 1
    end
  end
end
for id, gain in pairs(gains) do
  local state = external[id]
  if state ~= 'completed' and state ~= 'failed' and redis.call('SCARD', dependentsKey(base, id)) + gain > maxDependents then
    return { STATUS.TOO_MANY_DEPENDENTS, id }
  end
end

-- What an external dependency that ended already passes on: its outcome and value.
local function endedOutcome(id, state)
  if state == 'completed' then
    local record = redis.call('HGET', doneKey(base), id)
    local ok, _, _, _, _, _, _, _, _, _, rv = pcall(struct.unpack, '>' .. string.rep('I4c0', 10), record or '')
    if ok then return 'c', rv end
    return 'c', ''
  end
  return 'f', redis.call('HGET', jobKey(base, id), 'err') or ''
end

-- Write. Every job takes a number from the id counter, as in add.lua.
local number = redis.call('INCRBY', idKey, #list) - #list
local ids, linked, late = {}, 0, {}
local linkedSet, blockedSet = linkedKey(base), blockedKey(base)
local nowS = int(now)
for n, job in ipairs(list) do
  local id = job.jobId
  if id == '' then id = int(number + n) end
  ids[n] = id
  local j = { id = id, name = job.name, data = job.data, opts = job.opts, ts = nowS, prio = job.prio, grp = job.grp, ats = '0', atm = '0', stalls = '0' }
  if #job.refs == 0 then
    enqueue(C, j, false)
  else
    local f = recordFields('blocked', j)
    putField(f, 'open', int(#job.refs))
    putField(f, 'pol', job.policy)
    redis.call('HSET', jobKey(base, id), unpack(f))
    redis.call('ZADD', blockedSet, nowS, id)
    local values = {}
    for _, ref in ipairs(job.refs) do
      local depId, key, gone
      if string.sub(ref, 1, 1) == 'L' then
        local m = tonumber(string.sub(ref, 2))
        depId, key = ids[m], list[m].key
      else
        depId = string.sub(ref, 2)
        key = depId
        local state = external[depId]
        if state == 'completed' or state == 'failed' then
          local outcome, value = endedOutcome(depId, state)
          late[#late + 1] = { id, depId, outcome, value }
          gone = true
        end
      end
      values[#values + 1] = depId
      values[#values + 1] = LINKS.value('w', key, '')
      -- A dependency that ended already gains no dependent: its outcome is passed on below.
      if not gone then
        redis.call('SADD', dependentsKey(base, depId), id)
        linked = linked + redis.call('SADD', linkedSet, depId)
      end
    end
    redis.call('HSET', depsKey(base, id), unpack(values))
    linked = linked + redis.call('SADD', linkedSet, id)
  end
  emit(eventsKey, maxLen, 'added', id, job.name)
end
if linked > 0 then redis.call('HINCRBY', metaKey, 'linked', int(linked)) end

-- Dependencies that had ended before this call: their outcomes now, as a settle would have passed them.
local ended = {}
for _, l in ipairs(late) do LINKS.ended(C, l[1], l[2], l[3], l[4], ended) end
if #ended > 0 then LINKS.settle(C, ended) end
flushEvents()
local out = { STATUS.OK }
for n, id in ipairs(ids) do out[n + 1] = id end
return out

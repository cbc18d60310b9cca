-- add-flow: add jobs that depend on other jobs (src/flows.ts), all or none: a whole flow of up to 1,000
-- jobs, or one job with `dependsOn` existing jobs. A job without open dependencies becomes waiting; the
-- others wait blocked until theirs end (dependents.lua). Jobs and dependencies may be in other queues of the
-- same prefix, whose keys the script builds from `base` (one Redis). On a Cluster a flow across queues is
-- written as parts, one call per part in its queue's slot (src/flows-across-slots.ts): `flow`, `links` and
-- 'R' dependencies are for those. Everything is checked before anything is written, so a refusal writes nothing.
-- KEYS: id meta failed events ctl groups... streams...
-- ARGV: base group eventsMaxLen maxDependents flow links jobs | per job, packed in jobs: key queue jobId name data opts prio grp policy deps
--   flow = '' (a whole flow), or a part's, packed (packed.lua): the flow's id; the queue of its last part
--   when jobs of this part wait for jobs of later parts ('' when none does: then nothing is recorded); and,
--   in the last part only, the queues whose parts wait (each is told by a note, kind 'd', that the flow is
--   whole); links = '' or pairs, packed: a job of this queue ('L<n>', the n-th of this call, or 'E<id>', an
--   existing one) and a dependents set's member to add to it ('{queue}id' of this slot, '>{queue}id' of
--   another: a job of an earlier part); an existing job that ended already passes its end on instead
--   jobs = in an order where each job comes after the jobs of this call it depends on (src/flows.ts sorts
--   them and refuses cycles); queue '' = this queue, else another queue of the prefix; jobId '' = generate
--   one; grp '' = none; policy = fail | ignore | remove | onfail (dependents.lua); deps = the job's
--   dependencies, packed as `jobs` is (packed.lua), each 'L<n>' (the n-th job of this call, 1-based),
--   'E<id>' (an existing job of this queue), 'X<queue>\n<id>' (an existing job of another queue) or 'R' and
--   queue, id and key packed (a job of a later part of a flow across slots, or an existing one of another
--   slot: nothing of it is read or checked here; a later part links it)
-- Returns: {OK, id of each job in order} | {JOB_MISSING, id} (a dependency that does not exist: never
--   added, removed, or deleted by retention) | {DUPLICATE, jobId} (a job with that id exists, or two jobs
--   of this call have it) | {LEVELS_MISMATCH, n} (job n's priority is not a level of its queue) |
--   {TOO_MANY_DEPENDENTS, id} (an existing job would have more than maxDependents dependents) |
--   {NEEDS_INIT, queue} (another queue named does not exist)
-- Events: added (per job, in its queue's stream); waiting, failed or removed for jobs whose dependencies
--   had ended already
-- Loops: one pass over the jobs and one over their dependencies and links to check, one to write (the
--   caller sends at most 1,000 jobs and 10,000 dependencies and links); one locate per distinct existing
--   dependency; the dependents' cascade (dependents.lua); one note per queue named in `flow`
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
local base, group, maxLen, maxDependents, flow, linksArg, jobs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local now = nowMs()
local C = { base = base, idKey = idKey, levels = levels, streams = streams, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey,
  now = now, failed = failedKey, events = eventsKey, maxLen = maxLen }

-- The context of a queue named in the call ('' = this one), or a refusal when it does not exist.
local function queueOf(name)
  if name == '' then return C end
  return LINKS.context(C, name)
end

local JOB = packedFormat(10)
local list = {}
local at = 1
while at <= #jobs do
  local key, queue, jobId, name, data, opts, prio, grp, policy, deps, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local refs, r = {}, 1
  while r <= #deps do
    local ref, nextR = struct.unpack('>I4c0', deps, r)
    r = nextR
    refs[#refs + 1] = ref
  end
  list[#list + 1] = { key = key, queue = queue, jobId = jobId, name = name, data = data, opts = opts, prio = prio, grp = grp, policy = policy, refs = refs }
end

local links = {}
at = 1
while at <= #linksArg do
  local dep, member, nextAt = struct.unpack('>I4c0I4c0', linksArg, at)
  at = nextAt
  links[#links + 1] = { dep, member }
end

-- An existing dependency named by a ref: its queue's context and its id (nil context: no such queue).
local function existing(ref)
  if string.sub(ref, 1, 1) == 'E' then return C, string.sub(ref, 2), '' end
  local q, id = string.match(ref, '^X([^\n]*)\n(.*)$')
  return LINKS.context(C, q), id, q
end

-- Check everything first. Existing dependencies: where each is now, and how many dependents it gains.
local states, gains, given, refOf = {}, {}, {}, {}
for n, job in ipairs(list) do
  local Q = queueOf(job.queue)
  if not Q then return { STATUS.NEEDS_INIT, job.queue } end
  job.Q = Q
  if not Q.levels[(tonumber(job.prio) or -1) + 1] then return { STATUS.LEVELS_MISMATCH, n } end
  if job.jobId ~= '' then
    local named = LINKS.ref(Q, job.jobId)
    if given[named] or redis.call('EXISTS', jobKey(Q.base, job.jobId)) == 1 or redis.call('HEXISTS', doneKey(Q.base), job.jobId) == 1 then
      return { STATUS.DUPLICATE, job.jobId }
    end
    given[named] = true
  end
  for _, ref in ipairs(job.refs) do
    local kind = string.sub(ref, 1, 1)
    if kind ~= 'L' and kind ~= 'R' then
      local D, id, q = existing(ref)
      if not D then return { STATUS.NEEDS_INIT, q } end
      local named = LINKS.ref(D, id)
      if not states[named] then
        local state = locate(D.base, group, D.streams, D.levels, id)
        if not state then return { STATUS.JOB_MISSING, id } end
        states[named] = state
        gains[named] = 0
        refOf[named] = { D, id }
      end
      gains[named] = gains[named] + 1
    end
  end
end
-- Existing jobs of this queue that jobs of earlier parts wait for: checked as dependencies are.
for _, l in ipairs(links) do
  if string.sub(l[1], 1, 1) == 'E' then
    local id = string.sub(l[1], 2)
    local named = LINKS.ref(C, id)
    if not states[named] then
      local state = locate(base, group, streams, levels, id)
      if not state then return { STATUS.JOB_MISSING, id } end
      states[named], gains[named], refOf[named] = state, 0, { C, id }
    end
    gains[named] = gains[named] + 1
  end
end
for named, gain in pairs(gains) do
  local state, D, id = states[named], refOf[named][1], refOf[named][2]
  if state ~= 'completed' and state ~= 'failed' and redis.call('SCARD', dependentsKey(D.base, id)) + gain > maxDependents then
    return { STATUS.TOO_MANY_DEPENDENTS, id }
  end
end

-- What an existing dependency that ended already passes on: its outcome and value.
local function endedOutcome(D, id, state)
  if state == 'completed' then
    local record = redis.call('HGET', doneKey(D.base), id)
    local ok, _, _, _, _, _, _, _, _, _, rv = pcall(struct.unpack, '>' .. string.rep('I4c0', 10), record or '')
    if ok then return 'c', rv end
    return 'c', ''
  end
  return 'f', redis.call('HGET', jobKey(D.base, id), 'err') or ''
end

-- Write. Every job takes a number from its queue's id counter, as in add.lua: one INCRBY per queue.
local numbers = {}
for _, job in ipairs(list) do numbers[job.Q] = (numbers[job.Q] or 0) + 1 end
for Q, count in pairs(numbers) do numbers[Q] = redis.call('INCRBY', Q.idKey, count) - count end
local ids, linked, late, waiting = {}, {}, {}, {}
local nowS = int(now)
local function link(Q, id)
  if redis.call('SADD', linkedKey(Q.base), id) == 1 then linked[Q] = (linked[Q] or 0) + 1 end
end
for n, job in ipairs(list) do
  local Q = job.Q
  local id = job.jobId
  numbers[Q] = numbers[Q] + 1
  if id == '' then id = int(numbers[Q]) end
  ids[n] = id
  local j = { id = id, name = job.name, data = job.data, opts = job.opts, ts = nowS, prio = job.prio, grp = job.grp, ats = '0', atm = '0', stalls = '0' }
  if #job.refs == 0 then
    enqueue(Q, j, false)
  else
    local f = recordFields('blocked', j)
    putField(f, 'open', int(#job.refs))
    putField(f, 'pol', job.policy)
    redis.call('HSET', jobKey(Q.base, id), unpack(f))
    redis.call('ZADD', blockedKey(Q.base), nowS, id)
    local values = {}
    local me = LINKS.ref(Q, id)
    for _, ref in ipairs(job.refs) do
      local D, depId, key
      local kind = string.sub(ref, 1, 1)
      if kind == 'R' then
        -- Linked by a later part of its flow (`links` there), or by its own end's note.
        local q, rid, rkey = struct.unpack('>I4c0I4c0I4c0', ref, 2)
        values[#values + 1] = '{' .. q .. '}' .. rid
        values[#values + 1] = LINKS.value('w', rkey, '')
        if waiting[#waiting] ~= id then waiting[#waiting + 1] = id end
      elseif kind == 'L' then
        local m = tonumber(string.sub(ref, 2))
        D, depId, key = list[m].Q, ids[m], list[m].key
      else
        D, depId = existing(ref)
        key = depId
      end
      if D then
        local named = LINKS.ref(D, depId)
        values[#values + 1] = named
        values[#values + 1] = LINKS.value('w', key, '')
        local state = states[named]
        if state == 'completed' or state == 'failed' then
          -- A dependency that ended already gains no dependent: its outcome is passed on below.
          local outcome, value = endedOutcome(D, depId, state)
          late[#late + 1] = { Q, id, named, outcome, value }
        else
          redis.call('SADD', dependentsKey(D.base, depId), me)
          link(D, depId)
        end
      end
    end
    redis.call('HSET', depsKey(Q.base, id), unpack(values))
    link(Q, id)
  end
  LINKS.eventsFor(Q)
  emit(Q.events, maxLen, 'added', id, job.name)
end
-- Jobs of earlier parts of a flow across slots wait for these: their members, or the end they missed.
local ended = {}
for _, l in ipairs(links) do
  local dep, member = l[1], l[2]
  local D, id = C, string.sub(dep, 2)
  if string.sub(dep, 1, 1) == 'L' then
    local m = tonumber(id)
    D, id = list[m].Q, ids[m]
  end
  local named = LINKS.ref(D, id)
  local state = states[named]
  if state == 'completed' or state == 'failed' then
    local outcome, value = endedOutcome(D, id, state)
    LINKS.tell(D, member, named, outcome, value, ended)
  else
    redis.call('SADD', dependentsKey(D.base, id), member)
    link(D, id)
  end
end
for Q, n in pairs(linked) do redis.call('HINCRBY', Q.meta, 'linked', int(n)) end

-- A part of a flow across slots: the jobs that wait for later parts are recorded until the flow is whole
-- (src/flows-relay.ts fails them when it never is), and the last part tells the waiting parts that it is.
if flow ~= '' then
  local parts, f = {}, 1
  while f <= #flow do
    local part, nextF = struct.unpack('>I4c0', flow, f)
    f = nextF
    parts[#parts + 1] = part
  end
  local fid, last = parts[1], parts[2]
  if last ~= '' and #waiting > 0 then
    local record = flowKey(base, fid)
    local packed = redis.call('HGET', record, 'jobs') or ''
    for _, id in ipairs(waiting) do packed = packed .. struct.pack('>I4', #id) .. id end
    redis.call('HSET', record, 'last', last, 'jobs', packed)
    redis.call('ZADD', flowsKey(base), 'NX', nowS, fid)
  end
  for i = 3, #parts do LINKS.note(C, 'd', parts[i], fid, '', '', '') end
end

-- Dependencies that had ended before this call: their outcomes now, as a settle would have passed them.
for _, l in ipairs(late) do LINKS.ended(l[1], l[2], l[3], l[4], l[5], ended) end
if #ended > 0 then LINKS.settle(C, ended) end
flushEvents()
local out = { STATUS.OK }
for n, id in ipairs(ids) do out[n + 1] = id end
return out

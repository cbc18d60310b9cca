-- dependents: what a job's end means for the jobs that wait for it (src/flows.ts). A job with dependencies
-- waits in its hash, state 'blocked', with `open` (its dependencies not ended yet) and `pol` (what a failed
-- dependency does to it), and in the blocked set. Each dependency's outcome is copied into the waiting
-- job's deps hash when it ends, so the job reads its dependencies' results (job.getDependencies()) from its
-- own keys, whatever retention does to theirs meanwhile. The jobs waiting for a job are its dependents set.
-- Every job that has dependencies or dependents and has not ended is a member of its queue's linked set,
-- and meta `linked` counts them: a settle looks for its jobs there only while that count is above 0
-- (LINKS.open), so a queue that never used a flow pays no command per job for them.
--
-- A job is named in dependents sets and deps fields as '{queue}id': its queue's hash tag, then its id, so a
-- flow may span queues of one prefix. On one Redis the scripts then touch the other queue's keys (built
-- from the base, keys.lua otherBase), atomically. On a Cluster two queues are two slots: a dependent in
-- another queue is a member '>{queue}id' (written by add-flow's `links`, src/flows-across-slots.ts), and
-- its dependency's end becomes a note in the ending queue's outbox (LINKS.note), in the same script; a
-- relay (src/flows-relay.ts) applies it in the dependent's slot with deliver-notes.lua, through
-- LINKS.ended, which applies an end once however often it is told.
--
-- A deps value is three length-prefixed parts (packed.lua): outcome, key, value. Outcomes: 'w' not ended
-- yet, 'c' completed (value: its result as the worker encoded it), 'f' failed for good (value: the reason),
-- 'r' removed. A completed dependency whose worker sent its process span's context (the part after `by` in
-- its done record, src/redis/done-record.ts: only a job of a traced flow that others wait for) has it as a
-- fourth part, which the waiting job's process span links to. Policies: 'fail' (the default: the job
-- fails, with a reason naming the dependency, when one fails or is removed), 'ignore' (it runs once every
-- dependency ended, whatever the outcome), 'remove' (it is deleted when one fails or is removed), 'onfail'
-- (an onFailure job: it becomes waiting when the first of the jobs it watches fails for good, and is
-- deleted once they all ended otherwise).
-- C is the script's context: base, idKey, levels, G, ctl, meta, now (as enqueue takes it), failed, events,
-- maxLen (as failCorrupt takes it); linked, when the caller read meta `linked` already.
--@include status
--@include keys
--@include numbers
--@include events
--@include enqueue
--@include corrupt
--@include history

local LINKS = {}

local function lp(s) return struct.pack('>I4', #s) .. s end
function LINKS.value(outcome, key, value, trace)
  if trace then return lp(outcome) .. lp(key) .. lp(value) .. lp(trace) end
  return lp(outcome) .. lp(key) .. lp(value)
end

-- The queue's name, from its base ('<prefix>:{<name>}:').
function LINKS.name(C)
  if not C.name then C.name = string.match(C.base, '{([^}]*)}:$') end
  return C.name
end

-- How dependents sets and deps fields name job `id` of the queue of C.
function LINKS.ref(C, id) return '{' .. LINKS.name(C) .. '}' .. id end

-- The context of the queue whose keys start with `base`, built from its meta's levels; nil when the queue
-- does not exist (never initialised, or obliterated).
local function contextOf(base, now, maxLen)
  local levels = tonumber(redis.call('HGET', queueKeysOf(base).meta, 'levels') or '0')
  if levels < 1 then return nil end
  local streams, levelKeys = {}, {}
  for level = 1, levels do
    levelKeys[level] = levelKey(base, level - 1)
    streams[level] = levelKeys[level]
  end
  streams[levels + 1] = admitKey(base)
  local K = queueKeysOf(base)
  return { base = base, idKey = K.id, levels = levelKeys, streams = streams, G = groupKeysOf(base), ctl = K.ctl,
    meta = K.meta, now = now, failed = K.failed, events = K.events, maxLen = maxLen }
end

-- A script's own context from its queue's base (deliver-notes, abandon-flow), or nil when the queue is gone.
function LINKS.own(base, now, maxLen) return contextOf(base, now, maxLen) end

-- The context of queue `name` of the same prefix, made once per call; nil when the queue does not exist
-- (never initialised, or obliterated).
function LINKS.context(C, name)
  if name == LINKS.name(C) then return C end
  C.others = C.others or {}
  local O = C.others[name]
  if O ~= nil then return O or nil end
  O = contextOf(otherBase(C.base, LINKS.name(C), name), C.now, C.maxLen)
  if not O then
    C.others[name] = false
    return nil
  end
  O.name, O.root = name, C
  C.others[name] = O
  return O
end

-- Job d of queue q, in another slot (a '>' member), learns of an end through C's outbox: a note the relay
-- applies there (deliver-notes.lua). kind 'e': an end of job `dep` (a ref) with `outcome` and `value`; 'd':
-- flow `d` was written whole (add-flow.lua's `flow`); `trace`, when given, the ended job's process span's
-- context (field 't'). Not trimmed: a relay deletes a note once it applied it, so the stream holds the
-- notes not applied yet.
function LINKS.note(C, kind, q, d, dep, outcome, value, trace)
  if trace then
    redis.call('XADD', outboxKey(C.base), '*', 'k', kind, 'q', q, 'd', d, 'r', dep, 'o', outcome, 'v', value, 't', trace)
  else
    redis.call('XADD', outboxKey(C.base), '*', 'k', kind, 'q', q, 'd', d, 'r', dep, 'o', outcome, 'v', value)
  end
end

-- Events go to one queue's stream per XADD (events.lua): before emitting for another queue than the one
-- whose events are gathered, the gathered ones are written.
local function eventsFor(C)
  local root = C.root or C
  if (root.emitting or root) ~= C then flushEvents() end
  root.emitting = C
end
LINKS.eventsFor = eventsFor

-- Whether any job of the queue has dependencies or dependents now: one HGET per call, none when the
-- caller's HMGET of meta read the count already (a complete that claims reads it with claim's).
function LINKS.open(C)
  local n = C.linked
  if n == nil then n = redis.call('HGET', C.meta, 'linked') end
  return tonumber(n or '0') > 0
end

-- Job d's dependencies have all ended (or, for an onFailure job, one failed): it becomes waiting.
local function unblock(C, d, ended)
  redis.call('ZREM', blockedKey(C.base), d)
  local j = recordJob(C.base, d)
  if not j then return end
  eventsFor(C)
  local problem = jobProblem(j, #C.levels)
  if problem then
    failCorrupt(C, j, problem)
    ended[#ended + 1] = { C, d, 'f', 'cannot be read: ' .. problem }
    return
  end
  enqueue(C, j, true)
  emit(C.events, C.maxLen, 'waiting', d, '')
end

function LINKS.failBlocked(C, d, reason, ended)
  redis.call('ZREM', blockedKey(C.base), d)
  local now = int(C.now)
  redis.call('HSET', jobKey(C.base, d), 'state', 'failed', 'err', reason, 'stack', '', 'fon', now)
  redis.call('ZADD', C.failed, now, d)
  redis.call('HINCRBY', C.meta, 'failed', 1)
  countMinute(C.base, C.now, 'failed', 1)
  eventsFor(C)
  emit(C.events, C.maxLen, 'failed', d, reason)
  ended[#ended + 1] = { C, d, 'f', reason }
end

local function removeBlocked(C, d, ended)
  redis.call('ZREM', blockedKey(C.base), d)
  redis.call('DEL', jobKey(C.base, d), logsKey(C.base, d))
  eventsFor(C)
  emit(C.events, C.maxLen, 'removed', d, '')
  ended[#ended + 1] = { C, d, 'r', '' }
end

-- Job d of C's queue waited for a part of its flow that was never written (abandon-flow.lua): an onFailure
-- job becomes waiting (its flow failed), a job with policy 'remove' is removed, any other fails with `reason`.
function LINKS.abandoned(C, d, reason, ended)
  local pol = redis.call('HGET', jobKey(C.base, d), 'pol')
  if pol == 'onfail' then unblock(C, d, ended)
  elseif pol == 'remove' then removeBlocked(C, d, ended)
  else LINKS.failBlocked(C, d, reason, ended) end
end

-- Job d of C's queue learns that its dependency `dep` (a ref, LINKS.ref) ended with `outcome` and `value`
-- (and `trace`, its process span's context, when there is one); the jobs this ends in turn (failed or
-- removed by their policy) are appended to `ended`.
function LINKS.ended(C, d, dep, outcome, value, ended, trace)
  local depsK = depsKey(C.base, d)
  local old = redis.call('HGET', depsK, dep)
  -- d ended already (its deps hash goes when it ends) or was removed.
  if not old then return end
  local was, key = struct.unpack('>I4c0I4c0', old)
  -- Passed on already: an end is applied once, however often it is told (the Cluster design's notes).
  if was ~= 'w' then return end
  local q, id = string.match(dep, '^{([^}]*)}(.*)$')
  if key == '' then key = id end
  redis.call('HSET', depsK, dep, LINKS.value(outcome, key, value, trace))
  local r = redis.call('HMGET', jobKey(C.base, d), 'state', 'pol')
  -- Not blocked: an onFailure job that runs already; it reads the outcome, nothing else changes.
  if r[1] ~= 'blocked' then return end
  local open = redis.call('HINCRBY', jobKey(C.base, d), 'open', '-1')
  local pol = r[2]
  if pol == 'onfail' then
    if outcome == 'f' then unblock(C, d, ended) elseif open <= 0 then removeBlocked(C, d, ended) end
  elseif outcome == 'c' or pol == 'ignore' then
    if open <= 0 then unblock(C, d, ended) end
  elseif pol == 'remove' then
    removeBlocked(C, d, ended)
  else
    -- Named by its key in the flow, and by its id (and queue, when another) when that says more.
    local named = "dependency '" .. key .. "'"
    if q ~= LINKS.name(C) then named = named .. ' (job ' .. id .. " of queue '" .. q .. "')"
    elseif key ~= id then named = named .. ' (job ' .. id .. ')' end
    if outcome == 'f' then LINKS.failBlocked(C, d, named .. ' failed: ' .. value, ended)
    else LINKS.failBlocked(C, d, named .. ' was removed', ended) end
  end
end

-- Ends linked jobs: `ended` holds {context, id, outcome, value, trace?} of jobs that are members of their queue's
-- linked set. Each leaves it, its own deps hash goes, and each of its dependents learns the outcome, which
-- may end them in turn (appended to `ended`); a dependent in another slot, through a note. Returns whether
-- it wrote a note. Loop bound: a job is appended at most once (only a blocked job is, and it stops being
-- blocked), so at most the jobs that depend on these, transitively.
function LINKS.settle(C, ended)
  local i, touched, noted = 1, {}, false
  while ended[i] do
    local E, id, outcome, value, trace = ended[i][1], ended[i][2], ended[i][3], ended[i][4], ended[i][5]
    i = i + 1
    if redis.call('SREM', linkedKey(E.base), id) == 1 then
      if not touched[E] then touched[E] = 0 end
      touched[E] = touched[E] + 1
    end
    local key = dependentsKey(E.base, id)
    local dependents = redis.call('SMEMBERS', key)
    redis.call('DEL', key, depsKey(E.base, id))
    local ref = LINKS.ref(E, id)
    for _, member in ipairs(dependents) do
      local q, d = string.match(member, '^{([^}]*)}(.*)$')
      if q then
        local D = LINKS.context(C, q)
        if D then LINKS.ended(D, d, ref, outcome, value, ended, trace) end
      else
        q, d = string.match(member, '^>{([^}]*)}(.*)$')
        if q then
          LINKS.note(E, 'e', q, d, ref, outcome, value, trace)
          noted = true
        end
      end
    end
  end
  for E, n in pairs(touched) do redis.call('HINCRBY', E.meta, 'linked', int(-n)) end
  -- Events gathered for another queue are written now: the caller's own come after them.
  eventsFor(C)
  return noted
end

-- Dependent `member` (a dependents set's member) of C's queue's job `dep` (a ref) learns an end that
-- happened before it was linked (add-flow.lua's links to an ended job): at once in C's slot, or by a note.
-- Returns whether it wrote a note.
function LINKS.tell(C, member, dep, outcome, value, ended)
  local q, d = string.match(member, '^>{([^}]*)}(.*)$')
  if q then
    LINKS.note(C, 'e', q, d, dep, outcome, value)
    return true
  end
  q, d = string.match(member, '^{([^}]*)}(.*)$')
  LINKS.ended(C, d, dep, outcome, value, ended)
  return false
end

-- The members of `candidates` ({id, outcome, value} each, jobs of C's queue) that are linked, settled as
-- LINKS.settle does (and its answer: whether it wrote a note). A value may be a function, called only for
-- a linked job (reading a record's result, and the process span's context after it when there is one).
function LINKS.settleMembers(C, candidates)
  if #candidates == 0 then return false end
  local ids = {}
  for i, c in ipairs(candidates) do ids[i] = c[1] end
  local member = redis.call('SMISMEMBER', linkedKey(C.base), unpack(ids))
  local ended = {}
  for i, c in ipairs(candidates) do
    if member[i] == 1 then
      local value, trace = c[3], nil
      if type(value) == 'function' then value, trace = value() end
      ended[#ended + 1] = { C, c[1], c[2], value, trace }
    end
  end
  if #ended > 0 then return LINKS.settle(C, ended) end
  return false
end

-- complete.lua: the jobs of the batch that completed (statuses[n] OK), read again from the packed `jobs`
-- (nothing is collected per job while the gate is shut). A result comes from the job's done record, or,
-- for a job deleted at once (no record sent), from the completed event's copy (empty with events off). A
-- job whose `hashed` starts with 't' has one part more in its record, after `err stack progress by`: its
-- process span's context (src/redis/done-record.ts); only such a job's record is read past its result.
function LINKS.completed(C, jobs, statuses, format)
  if not LINKS.open(C) then return false end
  local candidates, at, n = {}, 1, 0
  while at <= #jobs do
    local id, _, _, _, _, _, record, result, hashed, nextAt = struct.unpack(format, jobs, at)
    at, n = nextAt, n + 1
    if statuses[n] == STATUS.OK then
      candidates[#candidates + 1] = { id, 'c', function()
        if record == '' then return result end
        local ok, _, _, _, _, _, _, _, _, _, rv, after = pcall(struct.unpack, '>' .. string.rep('I4c0', 10), record)
        if not ok then return '' end
        -- A length before the byte: an untraced job's is one digit.
        if #hashed == 1 or string.byte(hashed) ~= 116 then return rv end
        local traced, _, _, _, _, trace = pcall(struct.unpack, '>' .. string.rep('I4c0', 5), record, after)
        if traced then return rv, trace end
        return rv
      end }
    end
  end
  return LINKS.settleMembers(C, candidates)
end

-- A failed job's stack with its process span's context behind it (fail.lua's retry delays -5 to -8): the
-- stack and the context; what cannot be read is all stack.
function LINKS.tracedStack(packed)
  local ok, stack, trace = pcall(struct.unpack, '>I4c0I4c0', packed)
  if ok then return stack, trace end
  return packed, nil
end

-- fail.lua: the jobs of the batch that failed for good (statuses[n] OK and a negative retry delay); one
-- traced (-5 to -8) passes its process span's context on with its reason.
function LINKS.failed(C, jobs, statuses, format, retryDelayOf)
  if not LINKS.open(C) then return false end
  local candidates, at, n = {}, 1, 0
  while at <= #jobs do
    local id, _, _, retryDelay, reason, stack, _, _, _, _, _, _, _, _, _, _, _, _, nextAt = struct.unpack(format, jobs, at)
    at, n = nextAt, n + 1
    local ms = retryDelayOf(retryDelay)
    if id ~= '' and statuses[n] == STATUS.OK and ms < 0 then
      local value = reason
      if ms <= -5 then
        value = function()
          local _, trace = LINKS.tracedStack(stack)
          return reason, trace
        end
      end
      candidates[#candidates + 1] = { id, 'f', value }
    end
  end
  return LINKS.settleMembers(C, candidates)
end

-- handoff: an add hands its job straight to an idle worker, in the add's own call.
--
-- A worker whose claim found nothing to start (EMPTY) registers its free slots as waiters (`waiters`, a
-- sorted set: member '<consumer>#<slot>', score the ms until which it waits) and blocks in XREAD on ctl, the
-- level streams and its own wake stream (`wake:<consumer>`). An add that made a job ready pops the waiter
-- that registered last and claims for it exactly as that worker's own claim would (claim-jobs.lua: pause,
-- limits, groups, levels, the active count and event all as there), then writes the claimed job to the
-- waiter's wake stream, which ends its XREAD with the job in the reply: add -> handler start is one push
-- from Redis instead of a wake-up and a claim call (two round trips: 1.4-1.8 ms at p50 on this machine,
-- docs/ARCHITECTURE.md "How idle workers block").
--
-- Every job so handed is claimed (pending under its waiter, counted in meta `active`) before the wake
-- stream holds it, so nothing differs for the stalled sweep: a waiter that died is recovered as any worker
-- with jobs. A waiter leaves by its next claim (`unwait`), which takes what was handed to it meanwhile; a
-- waiter whose process died leaves when its registration runs out (the worker's block timeout and a
-- second): until then an add may still hand it a job, which its leases' timeout then recovers. Choosing the
-- waiter that registered last makes that rarer: a live worker re-registers at every wait.
--
-- What a queue without idle workers pays: one EXISTS of an absent key per add call (add.lua, add-labeled.lua).
--@include numbers
--@include keys
--@include status
--@include claim-jobs

-- A waiter that died never reads or deletes its wake stream: it goes after 10 minutes.
local WAKE_STREAM_TTL_MS = 600000

-- Takes up to `count` waiters off `waiters`, the last registered first, dropping those that ran out, and
-- marks each one's wake stream (an entry added and deleted at once) before the call writes anything else.
-- Why: Redis serves a blocked XREAD from the first of its keys that a command or script wrote, with that
-- key's entries alone; the job's own XADD to its level stream, which the waiter also reads, would come first
-- and wake it without the job (then it claims: the two round trips this saves). Marked first, the wake
-- stream is served first, with what the call wrote to it by its end. Returns the waiters taken (member,
-- score, consumer), or nil for none.
local function takeWaiters(base, now, count)
  local key = waitersKey(base)
  local popped = redis.call('ZPOPMAX', key, count)
  if #popped == 0 then return nil end
  local taken, marked = {}, {}
  for i = 1, #popped, 2 do
    if tonumber(popped[i + 1]) < now then
      -- It ran out, and so did every waiter registered before it.
      redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now))
      break
    end
    local consumer = string.match(popped[i], '^(.*)#%d+$')
    taken[#taken + 1] = { member = popped[i], score = popped[i + 1], consumer = consumer }
    if not marked[consumer] then
      marked[consumer] = true
      local wake = wakeKey(base, consumer)
      redis.call('XDEL', wake, redis.call('XADD', wake, '*', 'mark', ''))
    end
  end
  return taken
end

-- For an add call (add.lua, add-labeled.lua): while workers wait, how many of its packed jobs are ready at
-- once (neither a delay nor a runAt ahead; delay and runAt are their 6th and 7th values), and the waiters
-- taken for them (takeWaiters); nil and 0 when no worker waits, which costs one EXISTS.
-- Loops: one pass over the call's jobs (at most 200), only while workers wait.
local function waitersFor(base, now, format, jobs, count)
  if redis.call('EXISTS', waitersKey(base)) == 0 then return nil, 0 end
  local at, ready = 1, 0
  for _ = 1, count do
    local values = { struct.unpack(format, jobs, at) }
    at = values[#values]
    if tonumber(values[6]) <= 0 and tonumber(values[7]) <= now then ready = ready + 1 end
  end
  if ready == 0 then return nil, 0 end
  return takeWaiters(base, now, ready), ready
end

-- Hands up to `ready` jobs to the waiters takeWaiters took: one claim per worker for as many jobs as it has
-- slots among them (a batch of 200 jobs and an idle worker of 200 slots is one claim of 200, as the worker's
-- own claim would be, not 200 claims of one), in the order they were taken. Stops at the first claim that
-- starts fewer jobs than it asked for (paused, a limit, nothing left), which would refuse the others too,
-- and puts back the slots it did not use. Q as claimJobs takes it. Returns how many jobs were handed.
-- Loops: one claim per worker taken, one pass over the slots taken (at most the call's jobs, 200).
local function handOff(Q, delayedKey, rateKey, streams, group, taken, ready)
  local handed = 0
  local i = 1
  while i <= #taken do
    local consumer = taken[i].consumer
    local last = i
    while taken[last + 1] and taken[last + 1].consumer == consumer do last = last + 1 end
    local want = math.min(last - i + 1, ready - handed)
    local got = 0
    if want > 0 then
      Q.handing = true
      local reply = claimJobs(Q, delayedKey, rateKey, streams, group, consumer, want, 0)
      Q.handing = false
      if reply[1] == STATUS.OK then got = reply[2] end
      if got > 0 then
        redis.call('HINCRBY', Q.meta, 'active', int(got))
        local wake = wakeKey(Q.base, consumer)
        local o, at = 4, reply[3]
        for _ = 1, got do
          local entry, index, first = reply[o], reply[o + 1], reply[o + 2]
          if type(first) == 'table' then
            redis.call('XADD', wake, '*', 'e', entry, 'i', index, 't', at, unpack(first))
            o = o + 3
          else
            redis.call('XADD', wake, '*', 'e', entry, 'i', index, 't', at, 'name', first, 'data', reply[o + 3], 'opts', reply[o + 4], 'ts', reply[o + 5])
            o = o + 6
          end
        end
        redis.call('PEXPIRE', wake, WAKE_STREAM_TTL_MS)
        handed = handed + got
      end
    end
    if got < last - i + 1 then
      -- This worker's slots it did not fill, and every worker after it.
      local back = {}
      for k = i + got, #taken do
        back[#back + 1] = taken[k].score
        back[#back + 1] = taken[k].member
      end
      redis.call('ZADD', waitersKey(Q.base), unpack(back))
      break
    end
    i = last + 1
  end
  return handed
end

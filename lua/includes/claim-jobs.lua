-- claim-jobs: what claim.lua does, as a function that complete.lua calls too (a settle that also claims,
-- src/worker/settler.ts): promote due delayed jobs, then hand up to `count` ready jobs to one consumer within
-- every rate limit. Its reply is claim.lua's (see its header). Two things are left to the caller, to do once
-- for the whole call: flushing the events, and counting the n jobs handed out in meta `active` (complete
-- adds them to the change its settle makes: one HINCRBY, not two).
-- Q is the script's context: base, idKey, levels (level streams), G (group keys), ctl, meta, now, failed,
-- events, maxLen, and settled (complete.lua: deliveries settled before the claim, not yet taken off meta
-- `active`). `streams`: every stream of the queue, the admit stream last (streamKeys).
-- Waiting for a handoff (waiters.lua, handoff.lua, readWait): Q.wait > 0 registers the consumer's `count`
-- slots as waiters until now + Q.wait ms when the claim is EMPTY; Q.unwait (registered, unread, from) ends the wait
-- its last claim registered, and the jobs handed to it after wake entry `from` come first in the reply
-- (they were claimed and counted by the add that handed them, so they take from `count` and not from meta
-- `active`).
-- Q.claimed is set to the jobs this call claimed itself: what the caller adds to meta `active`. Q.handing
-- (handoff.lua) skips what only an idle worker needs: the wake-up ids and the promotion.
--@include status
--@include keys
--@include numbers
--@include groups
--@include entry
--@include record
--@include corrupt
--@include events
--@include promote
--@include queue-limits
--@include waiters

-- The id of a stream's last entry ('0-0' for none): where an idle worker's XREAD starts.
local function lastEntryId(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', '1')
  if last[1] then return last[1][1] end
  return '0-0'
end

local function claimJobs(Q, delayedKey, rateKey, streams, group, consumer, count, promoteLimit)
  local idKey, metaKey, eventsKey, ctlKey, G, levels = Q.idKey, Q.meta, Q.events, Q.ctl, Q.G, Q.levels
  local base, maxLen, now = Q.base, Q.maxLen, Q.now
  local admitKey, admitIndex = streams[#streams], #streams - 1

  local meta
  if Q.settled then
    -- A complete that claims also reads the label index's gate here, for its retention (labels.lua): one
    -- more field costs about 1,700 Redis instructions, the HGET it saves about 4,900 (npm run
    -- bench:lua-costs), and at concurrency 1 every job is such a call.
    meta = redis.call('HMGET', metaKey, 'levels', 'paused', 'rlmax', 'rldur', 'hold', 'gwaiting', 'linked', 'labeled')
    Q.labeled = meta[8] ~= false and meta[8] ~= '0'
  else
    meta = redis.call('HMGET', metaKey, 'levels', 'paused', 'rlmax', 'rldur', 'hold', 'gwaiting', 'linked')
  end
  Q.claimed = 0
  if not meta[1] then return { STATUS.NEEDS_INIT } end
  -- For a complete that claims: whether jobs wait for others (dependents.lua), read here for free.
  Q.linked = meta[7] or '0'
  local nowS = int(now)
  if promoteLimit > 0 then promoteDue(Q, delayedKey, promoteLimit) end

  -- ms until something held back may start; -1 while nothing is held
  local wait = -1
  local function waitAtMost(ms)
    if ms < 1 then ms = 1 end
    if wait < 0 or ms < wait then wait = ms end
  end

  local out = { STATUS.OK, 0, now }
  local n = 0
  local handed = 0
  if Q.unwait then handed = unregisterWaiter(Q, consumer, Q.unwait, Q.unread, Q.from, out) end
  -- The entries handed out, for the rate log.
  local started = {}

  -- Hands one entry to the consumer: the job becomes active. Nothing is read or written per job: the entry
  -- holds the job, the pending list records the delivery, and the worker gets the entry's fields as they are.
  local function deliver(index, entry, fields)
    n = n + 1
    local o = #out
    if isFresh(fields) then
      -- The fresh layout's values alone: half the reply, for Redis to build and the worker to parse.
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] = entry, index, fields[2], fields[4], fields[6], fields[8]
    else
      -- The full layout, or an entry in neither (written by hand): as an array, which the worker reads by
      -- name and fails for good when it is not a job it can run (src/redis/entries.ts).
      out[o + 1], out[o + 2], out[o + 3] = entry, index, fields
    end
    local id, attempt = entryIdAndAttempt(entry, fields)
    emit(eventsKey, maxLen, 'active', id, int(attempt))
    started[n] = entry
  end

  -- Entries added to the admit stream by this call and not read back yet.
  local admitted = 0
  -- Hands out jobs a RateLimitError gave back (the levels' fronts, release.lua); made only while fronts hold
  -- jobs (below), because a function is a closure made on every call, and the hot path should not pay for one
  -- it does not use (its upvalues cost a drain at concurrency 64 about 300 Redis instructions per job).
  local takeFront

  -- Reads up to `want` ungrouped jobs, lowest level first, until the batch is full: per level its front, then
  -- one XREADGROUP of its stream (every entry read is a job handed out). Returns how many it took.
  local function readLevels(want)
    local got = 0
    for level = 1, #levels do
      if takeFront then got = got + takeFront(level - 1, want - got) end
      if got < want then
        local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', int(want - got), 'STREAMS', levels[level], '>')
        if reply then
          for _, item in ipairs(reply[1][2]) do
            deliver(level - 1, item[1], item[2])
            got = got + 1
          end
        end
      end
      if got >= want then return got end
    end
    return got
  end

  -- Admits one job of group g when its limits allow, and puts the group where it belongs next: back in the
  -- ring, throttled until its window frees a slot, full until a running job settles, or idle.
  -- Returns true when a job was admitted (added to the admit stream, read back after the passes).
  local limitCache = {}
  local function admitFrom(g)
    local heldUntil = tonumber(redis.call('HGET', G.hold, g) or '0')
    if heldUntil > now then
      throttle(G, g, heldUntil)
      waitAtMost(heldUntil - now)
      return false
    elseif heldUntil > 0 then
      redis.call('HDEL', G.hold, g)
    end
    local rule = groupLimits(G, g, limitCache)
    local logKey, used = groupRateKey(base, g), 0
    if rule.burst > 0 then
      -- Smooth (queue-limits.lua): starts spaced duration / max apart, burst at once.
      local next = groupSmoothNext(Q, g, rule)
      if next > Q.exact then
        -- Whole ms, as claim compares the throttled set with its ms clock.
        throttle(G, g, math.ceil(next))
        waitAtMost(math.ceil(next) - now)
        return false
      end
    elseif rule.max > 0 then
      redis.call('ZREMRANGEBYSCORE', logKey, '-inf', now - rule.duration)
      used = redis.call('ZCARD', logKey)
      if used >= rule.max then
        local oldest = tonumber(redis.call('ZRANGE', logKey, 0, 0, 'WITHSCORES')[2])
        throttle(G, g, oldest + rule.duration)
        waitAtMost(oldest + rule.duration - now)
        return false
      end
    end
    local active = tonumber(redis.call('HGET', G.active, g) or '0')
    if rule.concurrency > 0 and active >= rule.concurrency then
      markFull(G, g)
      return false
    end
    local waitKey = groupWaitKey(base, g)
    local popped = redis.call('ZPOPMIN', waitKey)
    if not popped[1] then
      redis.call('HDEL', G.state, g)
      return false
    end
    redis.call('HINCRBY', metaKey, 'gwaiting', -1)
    -- The group's waiting set holds ids; the job itself is in its hash until it is admitted onto the stream.
    local j = recordJob(base, popped[1])
    local problem = j and jobProblem(j, #levels)
    if problem then failCorrupt(Q, j, problem) end
    if not j or problem then
      -- Its hash is gone (nothing removes a grouped job without taking it out of the set), or was failed
      -- as corrupt: the group goes on with its next job.
      if redis.call('ZCARD', waitKey) == 0 then redis.call('HDEL', G.state, g) else redis.call('RPUSH', G.ready, g) end
      return false
    end
    local entry = nextEntryId(idKey)
    appendJob(admitKey, entry, j, nowS)
    -- Its place in the group, should a RateLimitError give it back (release.lua).
    markQueued(base, j.id, entry, int(admitIndex), popped[2])
    redis.call('HINCRBY', G.active, g, 1)
    admitted = admitted + 1
    local smoothNext
    if rule.burst > 0 then
      smoothNext = groupSmoothStart(Q, g, rule)
    elseif rule.max > 0 then
      -- Members are entry ids, unique per delivery: a job started twice in a window counts twice.
      redis.call('ZADD', logKey, nowS, entry)
      redis.call('PEXPIRE', logKey, rule.duration)
    end
    if redis.call('ZCARD', waitKey) == 0 then
      redis.call('HDEL', G.state, g)
    elseif smoothNext and smoothNext > Q.exact then
      throttle(G, g, math.ceil(smoothNext))
      waitAtMost(math.ceil(smoothNext) - now)
    elseif not smoothNext and rule.max > 0 and used + 1 >= rule.max then
      local oldest = tonumber(redis.call('ZRANGE', logKey, 0, 0, 'WITHSCORES')[2])
      throttle(G, g, oldest + rule.duration)
      waitAtMost(oldest + rule.duration - now)
    elseif rule.concurrency > 0 and active + 1 >= rule.concurrency then
      markFull(G, g)
    else
      redis.call('RPUSH', G.ready, g)
    end
    return true
  end

  local status = STATUS.PAUSED
  if meta[2] ~= '1' then
    status = STATUS.EMPTY
    local budget = count - handed
    local rlmax, rldur = tonumber(meta[3] or '0'), tonumber(meta[4] or '0')
    -- A concurrency or a smooth limit: rlmax holds the rule (queue-limits.lua), and only then is more read.
    local rule
    if not rlmax then
      rule = queueRule(meta[3])
      rlmax = rule.max
      if rule.burst > 0 then rlmax = 0 end
    end
    local heldUntil = tonumber(meta[5] or '0')
    -- Jobs a RateLimitError gave back wait in the levels' fronts (meta `front`). Looked for only when the
    -- queue has a `hold` field, which release always sets with them and which claim deletes once the hold is
    -- over and the fronts are empty: a queue that never releases a job pays nothing for them.
    if meta[5] and heldUntil <= now then
      local fronted = tonumber(redis.call('HGET', metaKey, 'front') or '0')
      if fronted == 0 then redis.call('HDEL', metaKey, 'hold') end
      -- Up to `want` jobs of level `level`'s front, in the fronts' order, through the admit stream (a stream
      -- cannot take an entry below its last one, so they cannot go back into their level's stream where they
      -- were), read back at once so they come first in the reply too. Returns how many it handed out.
      if fronted > 0 then
        takeFront = function(level, want)
          if fronted <= 0 then return 0 end
          local popped = redis.call('ZPOPMIN', frontKey(base, level), want)
          if #popped == 0 then return 0 end
          fronted = fronted - #popped / 2
          redis.call('HINCRBY', metaKey, 'front', -#popped / 2)
          local got = 0
          for i = 1, #popped, 2 do
            local j = recordJob(base, popped[i])
            local problem = j and jobProblem(j, #levels)
            if problem then failCorrupt(Q, j, problem) end
            -- No hash: removed meanwhile without leaving the front (remove-job takes it out; a safeguard).
            if j and not problem then
              local entry = nextEntryId(idKey)
              appendJob(admitKey, entry, j, nowS)
              -- Its place, should it be given back again.
              markQueued(base, j.id, entry, int(admitIndex), popped[i + 1])
              admitted = admitted + 1
              got = got + 1
            end
          end
          -- Grouped jobs admitted earlier in this call come along: the admit stream hands out in its order.
          if admitted > 0 then
            local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', admitted, 'STREAMS', admitKey, '>')
            for _, item in ipairs(reply[1][2]) do deliver(admitIndex, item[1], item[2]) end
            admitted = 0
          end
          return got
        end
      end
    end
    if heldUntil > now then
      budget = 0
      waitAtMost(heldUntil - now)
    elseif rlmax > 0 and budget > 0 then
      redis.call('ZREMRANGEBYSCORE', rateKey, '-inf', now - rldur)
      local free = rlmax - redis.call('ZCARD', rateKey)
      if free < budget then budget = free end
      if budget <= 0 then
        budget = 0
        waitAtMost(tonumber(redis.call('ZRANGE', rateKey, 0, 0, 'WITHSCORES')[2]) + rldur - now)
      end
    end
    if rule and budget > 0 then
      budget = ruleBudget(Q, rule, rldur, budget, waitAtMost)
      -- At the concurrency: the worker waits on ctl alone, for a settle that frees a slot.
      if rule.capped then status = STATUS.PAUSED end
    end

    -- Every group in the ring, throttled or full has waiting jobs: with none, the group machinery is skipped
    -- (3 commands a claim saved for queues that do not use groups).
    local grouped = tonumber(meta[6] or '0') > 0
    if budget > 0 then
      if grouped then wakeGroups(Q, 100) end
      local ungroupedLeft = true
      while n + admitted < budget do
        local before = n + admitted
        local ring = 0
        if grouped then ring = redis.call('LLEN', G.ready) end
        for _ = 1, ring do
          if n + admitted >= budget then break end
          local g = redis.call('LPOP', G.ready)
          if not g then break end
          admitFrom(g)
        end
        if ungroupedLeft and n + admitted < budget then
          local want = 1
          if not grouped or redis.call('LLEN', G.ready) == 0 then want = budget - n - admitted end
          if readLevels(want) < want then ungroupedLeft = false end
        end
        if n + admitted == before then break end
      end
      if admitted > 0 then
        local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', admitted, 'STREAMS', admitKey, '>')
        for _, item in ipairs(reply[1][2]) do deliver(admitIndex, item[1], item[2]) end
      end
    end
    if rule then commitQueueRule(Q, rule, n) end

    if n > 0 then
      if rlmax > 0 then
        -- Members are entry ids: unique per delivery, across the queue's streams (entry.lua).
        local log = {}
        for _, entry in ipairs(started) do
          log[#log + 1] = nowS
          log[#log + 1] = entry
        end
        redis.call('ZADD', rateKey, unpack(log))
      end
      out[2] = n + handed
      Q.claimed = n
      return out
    end
  end
  if handed > 0 then
    out[2] = handed
    return out
  end
  if Q.handing then return { status } end

  local first = redis.call('ZRANGE', delayedKey, '0', '0', 'WITHSCORES')
  if first[2] then waitAtMost(tonumber(first[2]) - now) end
  -- While paused, claim wakes no group: a throttled group's time must not wake the worker (it would find the
  -- same group due again at once, and spin).
  if status ~= STATUS.PAUSED and tonumber(meta[6] or '0') > 0 then
    local throttled = redis.call('ZRANGE', G.throttled, '0', '0', 'WITHSCORES')
    if throttled[2] then waitAtMost(tonumber(throttled[2]) - now) end
  end
  -- Registered, the worker also waits on its wake stream, from its last entry: '' when it did not register.
  local wakeFrom = ''
  if status == STATUS.EMPTY and Q.wait and Q.wait > 0 and count > 0 then wakeFrom = registerWaiter(Q, consumer, count, now + Q.wait) end
  local reply = { status, wait, lastEntryId(ctlKey), wakeFrom }
  for level = 1, #levels do reply[#reply + 1] = lastEntryId(levels[level]) end
  return reply
end

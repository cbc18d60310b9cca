-- queue-limits: the queue-wide concurrency, and the smooth mode of rate limits (queue-wide and per group).
-- Claim enforces both (claim-jobs.lua); set-rate-limit, set-concurrency and set-group-limit write them.
--
-- The queue's rule lives in meta. A sliding window alone is `rlmax` = max and `rldur` = duration, as before
-- these existed, so a queue that uses neither reads what it read before: claim's one HMGET of meta, whose
-- fields decide everything else (one more field in it would cost every claim call about 1,700 Redis
-- instructions, npm run bench:lua-costs). With a concurrency or a smooth limit, `rlmax`
-- holds the rule "<max> <burst> <concurrency>" (max 0: no rate limit; burst -1: the sliding window;
-- concurrency -1: none) and `rldur` the duration. An older sluice's claim cannot read that `rlmax` and
-- fails, rather than start jobs past a limit it does not know.
--
-- Smooth (GCRA): one stored time per limit, its theoretical arrival time `tat`. Starts are spaced
-- `duration / max` ms apart; `burst` of them may start at once after a pause. A start at t is allowed while
-- tat - (burst - 1) x spacing <= t, and moves tat to max(tat, t) + spacing: O(1) per start, on Redis' clock
-- (to the µs: a floored ms would let two starts come up to 1 ms closer than the spacing). The queue's tat is
-- meta `rltat`; a group's is the key group:<g>:tat (keys.lua), which expires at its tat, when it no longer
-- holds anything back.
--
-- Concurrency: claim hands out jobs while meta `active` (deliveries not settled yet, exact) is below it. A
-- claim it refuses marks `active` (active.lua) and returns PAUSED, so its worker waits on ctl alone (new jobs
-- may not start either); a settle that frees a slot sees the mark in its HINCRBY's reply, takes it off and
-- writes to ctl (slotsFreed). Settles that also claim (complete with a count) read it with the claim's rule.
--@include active
--@include clock
--@include keys
--@include numbers

-- Redis' time with its µs, read once per call and only by a smooth limit.
local function exactNow(Q)
  if not Q.exact then Q.exact = nowMsExact() end
  return Q.exact
end

-- The queue's rule from meta `rlmax` when it is not a plain number (see above).
local function queueRule(text)
  local max, burst, concurrency = string.match(text or '', '^(%d+) (-?%d+) (-?%d+)$')
  if not max then return { max = 0, burst = -1, concurrency = -1 } end
  return { max = tonumber(max), burst = tonumber(burst), concurrency = tonumber(concurrency) }
end

-- The queue's rule and duration as meta holds them, whichever form (set-rate-limit, set-concurrency).
local function readQueueRule(metaKey)
  local stored = redis.call('HMGET', metaKey, 'rlmax', 'rldur')
  local max = tonumber(stored[1] or '0')
  local rule
  if max then rule = { max = max, burst = -1, concurrency = -1 } else rule = queueRule(stored[1]) end
  rule.duration = tonumber(stored[2] or '0') or 0
  if rule.max <= 0 then rule.max, rule.duration = 0, 0 end
  return rule
end

-- Writes the rule back in the plainest form that holds it.
local function writeQueueRule(metaKey, rule)
  if rule.max <= 0 and rule.concurrency <= 0 then
    redis.call('HDEL', metaKey, 'rlmax', 'rldur')
  elseif rule.burst <= 0 and rule.concurrency <= 0 then
    redis.call('HSET', metaKey, 'rlmax', int(rule.max), 'rldur', int(rule.duration))
  else
    redis.call('HSET', metaKey, 'rlmax', int(rule.max) .. ' ' .. int(rule.burst) .. ' ' .. int(rule.concurrency))
    if rule.max > 0 then redis.call('HSET', metaKey, 'rldur', int(rule.duration)) else redis.call('HDEL', metaKey, 'rldur') end
  end
end

-- Puts the queue-wide rate limit into `rule` (max 0: none; burst -1: the sliding window) and writes it. A
-- smooth limit's time stays across a change of its numbers (it is the debt of starts already made); it
-- means nothing to a sliding window, and a smooth limit has no use for the sliding window's log of starts.
-- (set-rate-limit, set-share)
local function putRateRule(metaKey, rateKey, rule, max, duration, burst)
  local wasSmooth = rule.max > 0 and rule.burst > 0
  if max > 0 then
    rule.max, rule.duration, rule.burst = max, duration, burst
  else
    rule.max, rule.duration, rule.burst = 0, 0, -1
  end
  writeQueueRule(metaKey, rule)
  if rule.burst <= 0 then redis.call('HDEL', metaKey, 'rltat') end
  if rule.burst > 0 and not wasSmooth then redis.call('DEL', rateKey) end
end

-- Puts the queue-wide concurrency into `rule` (0: none) and writes it. The caller's ctl entry wakes whoever
-- a claim refused, so the wait mark (active.lua) goes. (set-concurrency, set-share)
local function putConcurrencyRule(metaKey, rule, concurrency)
  if concurrency > 0 then rule.concurrency = concurrency else rule.concurrency = -1 end
  writeQueueRule(metaKey, rule)
  if tonumber(redis.call('HGET', metaKey, 'active') or '0') >= ACTIVE_WAITING then
    redis.call('HINCRBY', metaKey, 'active', int(-ACTIVE_WAITING))
  end
end

-- How many starts a smooth limit allows at t, and when the next one may come (ms, <= t: now).
-- The 1e-6 keeps a boundary that float division puts a hair under an integer from costing a start.
local function smoothAllowance(tat, t, spacing, burst)
  local from = math.max(tat, t)
  local slack = t + (burst - 1) * spacing - from
  if slack < 0 then return 0, from - (burst - 1) * spacing end
  return math.floor(slack / spacing + 1e-6) + 1, t
end

-- Cuts `budget` to what the rule allows now. Refused by the concurrency: marks `active` as waited on and
-- sets rule.capped; rule.waiting says whether the mark was there already. A smooth limit keeps its tat in the rule for commitQueueRule. Reports when a start is next
-- allowed through waitAtMost. Q.settled: deliveries this call settled before claiming (complete.lua),
-- not yet taken off `active`.
local function ruleBudget(Q, rule, duration, budget, waitAtMost)
  local held = redis.call('HMGET', Q.meta, 'active', 'rltat')
  if rule.concurrency > 0 then
    rule.waiting = tonumber(held[1] or '0') >= ACTIVE_WAITING
    local free = rule.concurrency - activeCount(held[1]) + (Q.settled or 0)
    rule.free = free
    if free <= 0 then
      if not rule.waiting then redis.call('HINCRBY', Q.meta, 'active', int(ACTIVE_WAITING)) end
      rule.capped = true
      return 0
    end
    if free < budget then budget = free end
  end
  if rule.burst > 0 and rule.max > 0 then
    local t = exactNow(Q)
    rule.spacing = duration / rule.max
    rule.tat = math.max(tonumber(held[2] or '0'), t)
    local allowed, next = smoothAllowance(rule.tat, t, rule.spacing, rule.burst)
    if allowed < budget then budget = allowed end
    if budget <= 0 then
      waitAtMost(math.ceil(next - t))
      return 0
    end
  end
  return budget
end

-- The slots of settled deliveries are free: wake the workers a claim refused at the concurrency, when meta
-- `active` (its value after the settle's HINCRBY) carries the mark.
local function slotsFreed(metaKey, ctlKey, active)
  if active >= ACTIVE_WAITING then
    redis.call('HINCRBY', metaKey, 'active', int(-ACTIVE_WAITING))
    redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'slots', '1')
  end
end

-- After a claim of n jobs under the rule: the smooth limit's tat moves on by n spacings; a settle that
-- claimed too and left slots free (or claimed nothing, held by a rate or a hold) wakes the workers waiting
-- for one.
local function commitQueueRule(Q, rule, n)
  if rule.tat and n > 0 then redis.call('HSET', Q.meta, 'rltat', string.format('%.3f', rule.tat + n * rule.spacing)) end
  if rule.concurrency > 0 and (Q.settled or 0) > 0 and not rule.capped and (rule.free or n + 1) > n then
    -- Held by a rate or a hold, the claim never read `active`: read it for the mark here.
    if rule.waiting == nil then rule.waiting = tonumber(redis.call('HGET', Q.meta, 'active') or '0') >= ACTIVE_WAITING end
    if rule.waiting then slotsFreed(Q.meta, Q.ctl, ACTIVE_WAITING) end
  end
end

-- A group's smooth limit (rule.burst > 0): when its next start may come (ms; <= t: now), from its tat.
local function groupSmoothNext(Q, g, rule)
  local t = exactNow(Q)
  local tat = tonumber(redis.call('GET', groupTatKey(Q.base, g)) or '0')
  local allowed, next = smoothAllowance(tat, t, rule.duration / rule.max, rule.burst)
  if allowed > 0 then return t end
  return next
end

-- A start of group g under its smooth limit: moves its tat on. Returns when its next start may come.
local function groupSmoothStart(Q, g, rule)
  local t = exactNow(Q)
  local key = groupTatKey(Q.base, g)
  local spacing = rule.duration / rule.max
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), t) + spacing
  redis.call('SET', key, string.format('%.3f', tat), 'PXAT', int(math.ceil(tat)))
  local _, next = smoothAllowance(tat, t, spacing, rule.burst)
  return next
end

-- groups: scheduling of grouped jobs. Each group's waiting jobs sit in its own sorted set; a group with
-- work is in exactly one state, recorded in the state hash:
--   ready     in the ring (a list) that claim serves round-robin, one job per group per pass
--   throttled in the throttled sorted set until the score (its rate window or a RateLimitError hold ends)
--   full      in the full set until one of its running jobs settles (per-group concurrency)
-- A group without waiting jobs has no state. Limited groups are out of the ring, so claim never visits
-- them: a throttled tenant costs nothing until its time comes.
--@include keys

-- KEYS order of the group bundle; src/keys.ts `groups` has the same order.
local GROUP_KEY_COUNT = 7
local function groupKeys(KEYS, first)
  return {
    ready = KEYS[first], state = KEYS[first + 1], throttled = KEYS[first + 2], full = KEYS[first + 3],
    active = KEYS[first + 4], limits = KEYS[first + 5], hold = KEYS[first + 6],
  }
end

-- Group wait score: priority level first, then a per-queue sequence (FIFO within a level, even for jobs
-- added in the same ms). 1e15 leaves the sequence 10^15 adds and keeps every score exact in a double.
local PRIO_SCALE = 1e15

local function throttle(G, g, untilMs)
  redis.call('ZADD', G.throttled, untilMs, g)
  redis.call('HSET', G.state, g, 'throttled')
end

local function markFull(G, g)
  redis.call('SADD', G.full, g)
  redis.call('HSET', G.state, g, 'full')
end

-- Back into the ring, and wake workers blocked on ctl: they were told nothing could start.
local function makeReady(Q, g)
  redis.call('HSET', Q.G.state, g, 'ready')
  redis.call('RPUSH', Q.G.ready, g)
  redis.call('XADD', Q.ctl, 'MAXLEN', 10, '*', 'group', g)
end

-- A job joins its group's waiting set, at the back of its priority, or at `place` (a score it had before);
-- an idle group joins the ring.
local function enqueueGrouped(Q, id, prio, g, place)
  local score = place
  if not score then score = prio * PRIO_SCALE + redis.call('HINCRBY', Q.meta, 'gseq', 1) end
  redis.call('ZADD', groupWaitKey(Q.base, g), score, id)
  redis.call('HINCRBY', Q.meta, 'gwaiting', 1)
  if redis.call('HEXISTS', Q.G.state, g) == 0 then makeReady(Q, g) end
end

-- One of the group's running jobs ended: a full group may take work again.
local function releaseSlot(Q, g)
  if redis.call('HINCRBY', Q.G.active, g, -1) <= 0 then redis.call('HDEL', Q.G.active, g) end
  if redis.call('SREM', Q.G.full, g) == 1 then
    if redis.call('ZCARD', groupWaitKey(Q.base, g)) > 0 then makeReady(Q, g) else redis.call('HDEL', Q.G.state, g) end
  end
end

-- Throttled groups whose time has come rejoin the ring; at most `limit` per call.
local function wakeGroups(Q, limit)
  local due = redis.call('ZRANGEBYSCORE', Q.G.throttled, '-inf', Q.now, 'LIMIT', 0, limit)
  if #due == 0 then return end
  redis.call('ZREM', Q.G.throttled, unpack(due))
  for _, g in ipairs(due) do
    redis.call('HSET', Q.G.state, g, 'ready')
    redis.call('RPUSH', Q.G.ready, g)
  end
end

-- A group's limits: its own rule, else the default rule (field ''). "max duration concurrency", -1 = none,
-- and a fourth number, the burst, for a smooth rate (queue-limits.lua); a sliding one has three, as before.
local function groupLimits(G, g, cache)
  local rule = cache[g]
  if rule then return rule end
  local own, default = unpack(redis.call('HMGET', G.limits, g, ''))
  local text = own or default
  rule = { max = -1, duration = -1, concurrency = -1, burst = -1 }
  if text then
    local max, duration, concurrency, burst = string.match(text, '^(-?%d+) (-?%d+) (-?%d+) ?(-?%d*)$')
    rule = { max = tonumber(max), duration = tonumber(duration), concurrency = tonumber(concurrency), burst = tonumber(burst) or -1 }
  end
  cache[g] = rule
  return rule
end

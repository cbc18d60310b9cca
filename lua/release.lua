-- release: give deliveries back without using an attempt (the handler threw RateLimitError): each job
-- goes back to waiting and its group, or the whole queue when it has none, is held for holdMs.
-- KEYS: meta events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level holdMs
-- Returns: per job OK | JOB_MISSING | LEASE_LOST
-- Events: rate-limited (per released job, with the hold)
-- Loops: one pass over the batch (at most 1,000)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue

local metaKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3]
local streams, levels = streamKeys(4 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = nowMs()
local G = groupKeys(4)
local Q = { base = base, levels = levels, G = G, ctl = ctlKey, meta = metaKey, now = now }
local FIRST, FIELDS = 4, 4
local acks = newAcks(group, streams)
local out, settled = {}, 0

for o = FIRST, #ARGV, FIELDS do
  local id, entry, level, holdMs = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local job, status = ownedJob(base, id, entry, 7)
  if job then
    local g, untilMs = job[4], now + holdMs
    acks.add(level, entry)
    settled = settled + 1
    -- The start did not happen as far as attempts go: attemptsStarted goes back down too.
    enqueue(Q, id, tonumber(job[5]), g, 'ats', math.max(0, tonumber(job[7] or 0) - 1))
    if g and g ~= '' then
      if tonumber(redis.call('HGET', G.hold, g) or '0') < untilMs then redis.call('HSET', G.hold, g, untilMs) end
      -- A throttled group waits for the later of its window and the hold; a ready or full one is moved
      -- when claim next looks at it.
      if redis.call('HGET', G.state, g) == 'throttled' then redis.call('ZADD', G.throttled, 'GT', untilMs, g) end
    elseif tonumber(redis.call('HGET', metaKey, 'hold') or '0') < untilMs then
      redis.call('HSET', metaKey, 'hold', untilMs)
    end
    endDelivery(Q, job)
    emit(eventsKey, maxLen, 'ev', 'rate-limited', 'id', id, 'delay', holdMs)
  end
  out[#out + 1] = status
end

closeBatch(acks, metaKey, settled)
flushEvents()
return out

-- release: give deliveries back without using an attempt (the handler threw RateLimitError): each job
-- goes back to waiting and its group, or the whole queue when it has none, is held for holdMs.
-- KEYS: id meta events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level holdMs name data opts ts prio group ats atm stalls err stack
--   name ... stack = the job as claim handed it; err '' = no earlier failure
-- Returns: per job OK | LEASE_LOST (the job runs or ran elsewhere) | JOB_MISSING (it is gone: removed, obliterated)
-- Events: rate-limited (per released job, with the hold)
-- Loops: one pass over the batch (at most 1,000)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue

local idKey, metaKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local streams, levels = streamKeys(5 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local FIRST, FIELDS = 4, 15

local now = nowMs()
local G = groupKeys(5)
local Q = { base = base, idKey = idKey, levels = levels, G = G, ctl = ctlKey, meta = metaKey, now = now }
local acks = newAcks(group, streams)
local out, settled = {}, 0

for o = FIRST, #ARGV, FIELDS do
  local id, entry = ARGV[o], ARGV[o + 1]
  local status = acks.settle(base, levels, id, tonumber(ARGV[o + 2]), entry)
  if status == STATUS.OK then
    local holdMs = tonumber(ARGV[o + 3])
    local g, untilMs = ARGV[o + 9], now + holdMs
    local err = ARGV[o + 13]
    if err == '' then err = nil end
    -- The start did not happen as far as attempts go: attemptsStarted goes back down too.
    local j = {
      id = id, name = ARGV[o + 4], data = ARGV[o + 5], opts = ARGV[o + 6], ts = ARGV[o + 7], prio = ARGV[o + 8], grp = g,
      ats = int(math.max(0, tonumber(ARGV[o + 10]) - 1)), atm = ARGV[o + 11], stalls = ARGV[o + 12], err = err, stack = ARGV[o + 14],
    }
    settled = settled + 1
    enqueue(Q, j, false)
    if g ~= '' then
      if tonumber(redis.call('HGET', G.hold, g) or '0') < untilMs then redis.call('HSET', G.hold, g, untilMs) end
      -- A throttled group waits for the later of its window and the hold; a ready or full one is moved
      -- when claim next looks at it.
      if redis.call('HGET', G.state, g) == 'throttled' then redis.call('ZADD', G.throttled, 'GT', untilMs, g) end
    elseif tonumber(redis.call('HGET', metaKey, 'hold') or '0') < untilMs then
      redis.call('HSET', metaKey, 'hold', untilMs)
    end
    endDelivery(Q, g)
    emit(eventsKey, maxLen, 'rate-limited', id, ARGV[o + 3])
  end
  out[#out + 1] = status
end

closeBatch(acks, metaKey, settled)
flushEvents()
return out

-- release: give deliveries back without using an attempt (the handler threw RateLimitError): each job
-- goes back to waiting where it was, first (it was first, it stays first), and its group, or the whole
-- queue when it has none, is held for holdMs. A grouped job goes back into its group's set at the score it
-- was admitted with; an ungrouped one into its level's front (frontKey), which claim serves before the
-- level's stream, scored by its place: its entry's number (entry ids rise in the order jobs became ready)
-- or, when it came through a front already, the place it had there. A stream cannot take it back where it
-- was: XADD only appends above the stream's last id.
-- KEYS: meta events ctl groups... streams...
-- ARGV: base group eventsMaxLen jobs | per job, packed in jobs: id entry level holdMs name data opts ts prio grp ats atm stalls err stack
--   jobs = the batch's values (packed.lua); name ... stack = the job as claim handed it, in job-fields.lua's
--   names; err '' = no earlier failure
-- Returns: {per job OK | LEASE_LOST (the job runs or ran elsewhere) | CANCELLED (a person cancelled it) | JOB_MISSING (it is gone: removed, obliterated),
--   then Redis' time (ms), once}
-- Events: rate-limited (per released job, with the hold)
-- Wakes: with a ctl entry `slots`, the workers a claim refused at the queue's concurrency, when it frees slots
--   (queue-limits.lua)
-- Loops: one pass over the batch (at most 1,000)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include record
--@include packed
--@include queue-limits

local metaKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3]
local streams, levels = streamKeys(KEYS, 4 + GROUP_KEY_COUNT)
local base, group, maxLen, jobs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local JOB = packedFormat(15)

local exact = nowMsExact()
local now = math.floor(exact)
-- A hold counts from Redis' time rounded up (clock.lua), so it never ends early.
local later = math.ceil(exact)
local G = groupKeys(KEYS, 4)
local Q = { base = base, levels = levels, G = G, ctl = ctlKey, meta = metaKey, now = now }
local acks = newAcks(group, streams)
local out, settled, fronted = {}, 0, 0
local admitIndex = #streams - 1

local at = 1
while at <= #jobs do
  local id, entry, level, holdS, name, data, opts, ts, prio, grp, ats, atm, stalls, err, stack, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local status = acks.settle(base, levels, id, tonumber(level), entry)
  if status == STATUS.OK then
    local hold = tonumber(holdS)
    -- No hold (0): the job may start again at once, not from the next ms.
    local untilMs = now
    if hold > 0 then untilMs = later + hold end
    if err == '' then err = nil end
    -- No attempt is used (atm stays), but the run did start: attemptsStarted keeps it, so a handler can bound
    -- its own runs, RateLimitError ones included (as BullMQ counts them).
    local j = {
      id = id, name = name, data = data, opts = opts, ts = ts, prio = prio, grp = grp,
      ats = ats, atm = atm, stalls = stalls, err = err, stack = stack,
    }
    settled = settled + 1
    local key = jobKey(base, id)
    local f = recordFields('waiting', j)
    -- Written by claim when the job came through the admit stream: its group score, or its front place.
    local place = tonumber(level) == admitIndex and redis.call('HGET', key, 'place')
    if grp ~= '' then
      redis.call('HSET', key, unpack(f))
      -- A job admitted before places were recorded goes first among its priority.
      enqueueGrouped(Q, id, tonumber(prio), grp, place or int(tonumber(prio) * PRIO_SCALE))
    else
      place = place or string.match(entry, '^(%d+)-')
      putField(f, 'place', place)
      redis.call('HSET', key, unpack(f))
      redis.call('ZADD', frontKey(base, prio), place, id)
      fronted = fronted + 1
    end
    if grp ~= '' then
      if tonumber(redis.call('HGET', G.hold, grp) or '0') < untilMs then redis.call('HSET', G.hold, grp, untilMs) end
      -- A throttled group waits for the later of its window and the hold; a ready or full one is moved
      -- when claim next looks at it.
      if redis.call('HGET', G.state, grp) == 'throttled' then redis.call('ZADD', G.throttled, 'GT', untilMs, grp) end
    elseif tonumber(redis.call('HGET', metaKey, 'hold') or '0') < untilMs then
      redis.call('HSET', metaKey, 'hold', untilMs)
    end
    endDelivery(Q, grp)
    emit(eventsKey, maxLen, 'rate-limited', id, holdS)
  end
  out[#out + 1] = status
end

if fronted > 0 then
  redis.call('HINCRBY', metaKey, 'front', fronted)
  -- Blocked workers wake and claim, which tells them how long the hold lasts: no entry was added to a
  -- stream they block on.
  redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'front', int(fronted))
end
local active = closeBatch(acks, metaKey, settled)
if active then slotsFreed(metaKey, ctlKey, active) end
flushEvents()
-- Once per call, not per job: the worker gives its event listeners the job as it now is.
out[#out + 1] = now
return out

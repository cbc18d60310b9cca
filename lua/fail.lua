-- fail: settle a batch of failed attempts: retry (at once or after a backoff) or fail for good.
-- Fencing as in complete: only the holder of the live delivery may settle it.
-- KEYS: meta delayed failed events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level retryDelay reason stack keepCount keepAge
--   retryDelay: -1 = fail for good; 0 = back to waiting now; > 0 = delayed that many ms
-- Returns: per job OK | JOB_MISSING | LEASE_LOST
-- Events: retrying (with delay and reason) or failed (with reason), per settled job
-- Loops: one pass over the batch (at most 1,000); retention deletes at most 1,000 jobs per rule
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue
--@include schedule

local metaKey, delayedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(6 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = nowMs()
local Q = { base = base, levels = levels, G = groupKeys(6), ctl = ctlKey, meta = metaKey, now = now }
local FIRST, FIELDS = 4, 8
local acks, retention = newAcks(group, streams), newRetention()
local out, settled, failedForGood = {}, 0, 0

for o = FIRST, #ARGV, FIELDS do
  local id, entry, level, retryDelay = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local reason, stack = ARGV[o + 4], ARGV[o + 5]
  local keepCount, keepAge = tonumber(ARGV[o + 6]), tonumber(ARGV[o + 7])
  local job, status = ownedJob(base, id, entry, 5)
  if job then
    local key = jobKey(base, id)
    local atm = tonumber(job[3] or 0) + 1
    acks.add(level, entry)
    settled = settled + 1
    if retryDelay > 0 then
      schedule(delayedKey, ctlKey, id, now + retryDelay)
      redis.call('HSET', key, 'state', 'delayed', 'due', now + retryDelay, 'atm', atm, 'err', reason, 'stack', stack)
      emit(eventsKey, maxLen, 'ev', 'retrying', 'id', id, 'delay', retryDelay, 'reason', reason)
    elseif retryDelay == 0 then
      enqueue(Q, id, tonumber(job[5]), job[4], 'atm', atm, 'err', reason, 'stack', stack)
      emit(eventsKey, maxLen, 'ev', 'retrying', 'id', id, 'delay', 0, 'reason', reason)
    else
      failedForGood = failedForGood + 1
      if keepCount == 0 then
        redis.call('DEL', key, logsKey(base, id))
      else
        redis.call('HSET', key, 'state', 'failed', 'fon', now, 'atm', atm, 'err', reason, 'stack', stack)
        redis.call('ZADD', failedKey, now, id)
        retention.add(ARGV[o + 6], ARGV[o + 7])
      end
      emit(eventsKey, maxLen, 'ev', 'failed', 'id', id, 'reason', reason)
    end
    -- After a requeue: a full group that just got its job back may take it (or another) again.
    endDelivery(Q, job)
  end
  out[#out + 1] = status
end

if closeBatch(acks, metaKey, settled) then retention.apply(failedKey, base, now) end
countFinished(metaKey, 'failed', failedForGood)
flushEvents()
return out

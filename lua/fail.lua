-- fail: settle a batch of failed attempts: retry (at once or after a backoff) or fail for good.
-- Fencing as in complete: only the holder of the live delivery may settle it.
-- KEYS: id meta delayed failed events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level retryDelay reason stack keepCount keepAge name data opts ts prio group ats atm stalls pon
--   retryDelay: -1 = fail for good; 0 = back to waiting now; > 0 = delayed that many ms;
--   name data opts ts prio group ats atm stalls pon = the job as claim handed it (atm: attempts made before this one)
-- Returns: per job OK | LEASE_LOST (the job runs or ran elsewhere) | JOB_MISSING (it is gone: removed, obliterated)
-- Events: retrying (with delay and reason) or failed (with reason), per settled job
-- Loops: one pass over the batch (at most 1,000); retention deletes at most 1,000 jobs per rule
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue
--@include schedule

local idKey, metaKey, delayedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local streams, levels = streamKeys(7 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local FIRST, FIELDS = 4, 18

local now = nowMs()
local nowS = int(now)
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(7), ctl = ctlKey, meta = metaKey, now = now }
local acks, retention = newAcks(group, streams), newRetention()
local out, settled, failedForGood, kept, dropped = {}, 0, 0, {}, {}
local delayed = newSchedule(delayedKey, ctlKey)

for o = FIRST, #ARGV, FIELDS do
  local id, entry = ARGV[o], ARGV[o + 1]
  local status = acks.settle(base, levels, id, tonumber(ARGV[o + 2]), entry)
  if status == STATUS.OK then
    local retryDelay, reason = retryDelayOf(ARGV[o + 3]), ARGV[o + 4]
    local j = {
      id = id, name = ARGV[o + 8], data = ARGV[o + 9], opts = ARGV[o + 10], ts = ARGV[o + 11], prio = ARGV[o + 12],
      grp = ARGV[o + 13], ats = ARGV[o + 14], atm = int(tonumber(ARGV[o + 15]) + 1), stalls = ARGV[o + 16],
      err = reason, stack = ARGV[o + 5],
    }
    settled = settled + 1
    if retryDelay > 0 then
      local due = int(now + retryDelay)
      local f = recordFields('delayed', j)
      putField(f, 'due', due)
      redis.call('HSET', jobKey(base, id), unpack(f))
      delayed.add(id, now + retryDelay)
      emit(eventsKey, maxLen, 'retrying', id, ARGV[o + 3] .. ':' .. reason)
    elseif retryDelay == 0 then
      enqueue(Q, j, false)
      emit(eventsKey, maxLen, 'retrying', id, '0:' .. reason)
    else
      failedForGood = failedForGood + 1
      if ARGV[o + 6] == '0' then
        dropped[#dropped + 1] = id
      else
        local f = recordFields('failed', j)
        putField(f, 'fon', nowS)
        putField(f, 'pon', ARGV[o + 17])
        redis.call('HSET', jobKey(base, id), unpack(f))
        kept[#kept + 1] = nowS
        kept[#kept + 1] = id
        retention.add(ARGV[o + 6], ARGV[o + 7])
      end
      emit(eventsKey, maxLen, 'failed', id, reason)
    end
    -- After a requeue: a full group that just got its job back may take it (or another) again.
    endDelivery(Q, j.grp)
  end
  out[#out + 1] = status
end

delayed.flush()
if #dropped > 0 then dropJobs(base, dropped) end
if #kept > 0 then redis.call('ZADD', failedKey, unpack(kept)) end
if closeBatch(acks, metaKey, settled) then retention.apply(failedKey, base, now) end
countFinished(metaKey, 'failed', failedForGood)
flushEvents()
return out

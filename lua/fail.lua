-- fail: settle a batch of failed attempts: retry (at once or after a backoff) or fail for good.
-- Fencing as in complete: only the holder of the live delivery may settle it.
-- KEYS: id meta delayed failed events ctl groups... streams...
-- ARGV: base group eventsMaxLen by jobs | per job, packed in jobs: id entry level retryDelay reason stack keepCount keepAge name data opts ts prio grp ats atm stalls pon
--   by = the worker's consumer, kept in the hash of a job failed for good (job.processedBy; '' for none);
--   jobs = the batch's values (packed.lua); retryDelay: -1 = fail for good (-2: and release the job's dedupe
--   key, dedupe.lua; -3: the job has labels, or its worker could not read whether (labels.lua); -4: both;
--   4 lower again, -5 to -8: `stack` is the stack and the attempt's process span's context, length-prefixed,
--   for the jobs of its traced flow that wait for it (dependents.lua)); 0 = back to waiting now; > 0 =
--   delayed that many ms; name ... stalls = the job as claim handed it, in job-fields.lua's names (atm:
--   attempts made before this one); pon = when this attempt started (ms); id '' = an entry that holds no
--   job (src/redis/entries.ts): it is only acknowledged
-- Returns: {per job OK | LEASE_LOST (the job runs or ran elsewhere) | CANCELLED (a person cancelled it) | JOB_MISSING (it is gone: removed, obliterated),
--   then Redis' time (ms, rounded up): finishedOn of a job failed for good, what a retry's delay counts from;
--   then 'noted' when the call wrote a note to the outbox (dependents.lua), for the worker to relay it}
-- Events: retrying (with delay and reason) or failed (with reason), per settled job; waiting, failed or
--   removed for the jobs that waited for one failed for good (dependents.lua); added (a batch's callback,
--   when this call failed its last member for good: batches.lua)
-- Wakes: with a ctl entry `slots`, the workers a claim refused at the queue's concurrency, when it frees slots
--   (queue-limits.lua)
-- Loops: one pass over the batch (at most 1,000); retention deletes at most 1,000 jobs per rule; while jobs
--   wait for others and one failed for good, one more pass and the dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue
--@include schedule
--@include packed
--@include dedupe
--@include dependents
--@include queue-limits
--@include labels
--@include batches

local idKey, metaKey, delayedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local streams, levels = streamKeys(KEYS, 7 + GROUP_KEY_COUNT)
local base, group, maxLen, by, jobs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]

-- A retry's wait as fail reads it: at most MAX_RETRY_DELAY_MS (src/backoff.ts, which sends no more), and -1,
-- fail for good, for what is not a number. '%d' of now + 1e19 wraps to a due time in the past.
local MAX_RETRY_DELAY_MS = 2147483647
local function retryDelayOf(arg)
  local ms = tonumber(arg)
  if ms == nil or ms ~= ms then return -1 end
  return math.min(ms, MAX_RETRY_DELAY_MS)
end
local JOB = packedFormat(18)

local exact = nowMsExact()
local now = math.floor(exact)
-- The settle's time, rounded up (clock.lua): a retry's delay counts from it, so it never ends before the
-- failed attempt + delay; a job failed for good is finished at it, and the worker gets it back (its Job's
-- finishedOn, and dueAt = it + delay, are then what Redis holds).
local later = math.ceil(exact)
local laterS = int(later)
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 7), ctl = ctlKey, meta = metaKey, now = now }
local acks, retention = newAcks(group, streams), newRetention()
local out, settled, failedForGood, kept, dropped, batches = {}, 0, 0, {}, {}, nil
local delayed = newSchedule(delayedKey, ctlKey)

local at = 1
while at <= #jobs do
  local id, entry, level, retryDelayS, reason, stack, keepCount, keepAge, name, data, opts, ts, prio, grp, ats, atm, stalls, pon, nextAt =
    struct.unpack(JOB, jobs, at)
  at = nextAt
  local status
  if id == '' then
    -- An entry that holds no job (src/redis/entries.ts): acknowledged, nothing written.
    if acks.take(tonumber(level), entry) then
      status = STATUS.OK
      settled = settled + 1
    else
      status = STATUS.LEASE_LOST
    end
  else
    status = acks.settle(base, levels, id, tonumber(level), entry)
  end
  if id ~= '' and status == STATUS.OK then
    local retryDelay = retryDelayOf(retryDelayS)
    -- Dedupe and labels: one number compare for a job with neither.
    local labeled = false
    if retryDelay < -1 then
      if retryDelay <= -5 then retryDelay, stack = retryDelay + 4, LINKS.tracedStack(stack) end
      if retryDelay == -2 or retryDelay == -4 then releaseDedupe(base, id) end
      labeled = retryDelay <= -3
    end
    local j = {
      id = id, name = name, data = data, opts = opts, ts = ts, prio = prio, grp = grp, ats = ats, atm = int(tonumber(atm) + 1),
      stalls = stalls, err = reason, stack = stack,
    }
    settled = settled + 1
    if retryDelay > 0 then
      local due = int(later + retryDelay)
      local f = recordFields('delayed', j)
      putField(f, 'due', due)
      redis.call('HSET', jobKey(base, id), unpack(f))
      delayed.add(id, later + retryDelay)
      emit(eventsKey, maxLen, 'retrying', id, int(retryDelay) .. ':' .. reason)
    elseif retryDelay == 0 then
      enqueue(Q, j, false)
      emit(eventsKey, maxLen, 'retrying', id, '0:' .. reason)
    else
      failedForGood = failedForGood + 1
      batches = tallyFailed(batches, opts)
      if labeled then finishLabels(base, metaKey, id, keepCount, 'f', laterS) end
      if keepCount == '0' then
        dropped[#dropped + 1] = id
      else
        local f = recordFields('failed', j)
        putField(f, 'fon', laterS)
        putField(f, 'pon', pon)
        if by ~= '' then putField(f, 'by', by) end
        redis.call('HSET', jobKey(base, id), unpack(f))
        kept[#kept + 1] = laterS
        kept[#kept + 1] = id
        retention.add(keepCount, keepAge)
      end
      emit(eventsKey, maxLen, 'failed', id, reason)
    end
    -- After a requeue: a full group that just got its job back may take it (or another) again.
    endDelivery(Q, grp)
  end
  out[#out + 1] = status
end

delayed.flush()
if #dropped > 0 then dropJobs(base, dropped) end
if #kept > 0 then redis.call('ZADD', failedKey, unpack(kept)) end
local active = closeBatch(acks, metaKey, settled)
if active then
  slotsFreed(metaKey, ctlKey, active)
  retention.apply(failedKey, base, now, false, metaKey, Q)
end
countFinished(Q, 'failed', failedForGood)
if batches then flushBatches(Q, batches, eventsKey, maxLen) end
local noted = false
if failedForGood > 0 then
  Q.failed, Q.events, Q.maxLen = failedKey, eventsKey, maxLen
  noted = LINKS.failed(Q, jobs, out, JOB, retryDelayOf)
end
flushEvents()
-- Once per call, not per job: the worker gives its event listeners the job as it now is.
out[#out + 1] = later
if noted then out[#out + 1] = 'noted' end
return out

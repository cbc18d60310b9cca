-- complete: settle a batch of deliveries as completed, each only if the caller still holds it (fencing: its
-- entry must still be pending, see settle.lua). The worker sends the completed job's record (done.lua),
-- built from what claim handed it, so nothing of the job is read here and the batch's records are one HSET.
-- With count > 0 the same call then claims up to `count` jobs for `consumer`, exactly as claim.lua does
-- (claim-jobs.lua): a worker with free slots gets its next jobs in the reply that settles its last ones,
-- one script call per job at concurrency 1 instead of two (src/worker/settler.ts).
-- KEYS: id meta delayed failed completed events ctl rate groups... streams...
-- ARGV: base group eventsMaxLen consumer count promoteLimit wait jobs | per job, packed in jobs: id entry level keepCount keepAge group record result hashed
--   consumer, count, promoteLimit, wait = the claim's, as claim.lua takes them; count 0 claims nothing (consumer '')
--   jobs = the batch's values (packed.lua); level = the stream the delivery came from (claim's `stream`); keepCount 0 deletes the job at once,
--   -1 = no count limit; keepAge = seconds, -1 = no age limit; group '' = none; record = the job's done
--   record, its result included; result = the result again, for the completed event ('' with events
--   off); hashed = '1' when the job has a hash to delete (its entry was in the full layout, or its worker
--   recorded progress), '2' when it has one and a dedupe key to release (dedupe.lua), '0' when it has none;
--   3 more ('3', '4', '5') when the job has labels (labels.lua); a batch member's is 'b', that digit, and
--   its batch's id (batches.lua), so a job outside a batch sends and costs what it did; a job whose record
--   ends with its process span's context for the jobs of its traced flow waiting for it is 't' and that
--   digit (dependents.lua reads the context), so an untraced job neither sends nor costs anything more
-- Returns: {per job OK | LEASE_LOST (it runs or ran elsewhere) | CANCELLED (a person cancelled it) | JOB_MISSING (it is gone: removed, obliterated);
--   a job that is not OK is left as it was;
--   then Redis' time (ms): the settled jobs' finishedOn;
--   then, with count > 0, claim.lua's reply (jobs, EMPTY or PAUSED with the ids to block on, NEEDS_INIT)
--   as one nested array; then 'noted' when the call wrote a note to the outbox (dependents.lua: a job in
--   another slot waits for a job it settled), for the worker to relay it}
-- Events: completed (per settled job, with the result); with count > 0 claim's (active; failed for a job
--   whose hash cannot be used), in the same events entry; waiting, failed or removed for the jobs that
--   waited for a settled job (dependents.lua); added (a batch's callback, when this call settled its last
--   member: batches.lua)
-- Wakes: with a ctl entry `slots`, the workers a claim refused at the queue's concurrency, when it frees slots
--   (queue-limits.lua)
-- Loops: one pass over the batch (at most 1,000); retention deletes at most 1,000 jobs per rule; with
--   count > 0 claim's bounds (count at most 1,000); while jobs wait for others, one more pass over the
--   batch and the dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include numbers
--@include clock
--@include events
--@include settle
--@include packed
--@include claim-jobs
--@include waiters
--@include dedupe
--@include dependents
--@include queue-limits
--@include labels
--@include batches

local idKey, metaKey, delayedKey, failedKey, completedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local eventsKey, ctlKey, rateKey = KEYS[6], KEYS[7], KEYS[8]
local streams, levels = streamKeys(KEYS, 9 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local consumer, count, promoteLimit, jobs = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8]
local JOB = packedFormat(9)

local now = nowMs()
local nowS = int(now)
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 9), ctl = ctlKey, meta = metaKey, now = now,
  failed = failedKey, events = eventsKey, maxLen = maxLen }
local acks, retention = newAcks(group, streams), newRetention()
local out, settled, records, scores, dropped, hashes, batches = {}, 0, {}, {}, {}, {}, nil

local at = 1
while at <= #jobs do
  local id, entry, level, keepCount, keepAge, g, record, result, hashed, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local status = acks.settle(base, levels, id, tonumber(level), entry)
  if status == STATUS.OK then
    settled = settled + 1
    endDelivery(Q, g)
    -- Dedupe and labels: one string compare for a job with neither.
    if hashed > '1' then
      local first = string.byte(hashed)
      if first == 98 then batches, hashed = tallyCompleted(batches, hashed)
      elseif first == 116 then hashed = string.sub(hashed, 2) end
      local h = tonumber(hashed)
      if h >= 3 then
        finishLabels(base, metaKey, id, keepCount, 'c', nowS)
        h = h - 3
      end
      if h == 2 then releaseDedupe(base, id) end
      if h == 0 then hashed = '0' else hashed = '1' end
    end
    if keepCount == '0' then
      -- Deleted at once; a hash (a locator, progress) or logs may exist.
      dropped[#dropped + 1] = id
    else
      local n = #records
      records[n + 1], records[n + 2] = id, record
      n = #scores
      scores[n + 1], scores[n + 2] = nowS, id
      if hashed ~= '0' then hashes[#hashes + 1] = jobKey(base, id) end
      retention.add(keepCount, keepAge)
    end
    emit(eventsKey, maxLen, 'completed', id, result)
  end
  out[#out + 1] = status
end

if #dropped > 0 then dropJobs(base, dropped) end
if #records > 0 then
  redis.call('HSET', doneKey(base), unpack(records))
  redis.call('ZADD', completedKey, unpack(scores))
  -- The job's hash (a locator, or progress) is stale now that the record holds the job.
  if #hashes > 0 then redis.call('DEL', unpack(hashes)) end
end
if batches then flushBatches(Q, batches, eventsKey, maxLen) end
-- The claim comes after the settle, so the slots and group places it freed are there to claim, and before
-- the trim, so the trim finds its bound among the entries it handed out (XPENDING) instead of asking
-- XINFO GROUPS, which it must when the batch left nothing pending: every call at concurrency 1.
-- A claim wakes the workers waiting for a slot under the queue's concurrency itself (queue-limits.lua).
local claimed
if count > 0 then
  Q.settled = settled
  readWait(Q, ARGV[7])
  claimed = claimJobs(Q, delayedKey, rateKey, streams, group, consumer, count, promoteLimit)
end
acks.flush(metaKey)
-- The jobs settled and the jobs claimed, in one HINCRBY; without a claim, its reply says whether a claim
-- refused at the queue's concurrency waits for the slots these freed (active.lua).
local active = -settled
if claimed then active = active + Q.claimed end
if active ~= 0 then
  active = redis.call('HINCRBY', metaKey, 'active', int(active))
  if not claimed then slotsFreed(metaKey, ctlKey, active) end
end
if settled > 0 then retention.apply(completedKey, base, now, true, metaKey, Q) end
countFinished(Q, 'completed', settled)
-- Jobs that wait for these (dependents.lua): after the claim, whose read of meta tells whether any wait.
local noted = settled > 0 and LINKS.completed(Q, jobs, out, JOB)
flushEvents()
-- Once per call, not per job: the worker gives its event listeners the job as it now is.
out[#out + 1] = now
if claimed then out[#out + 1] = claimed end
if noted then out[#out + 1] = 'noted' end
return out

-- recover-stalled: take back deliveries whose worker stopped extending its lease for idleMs (crashed,
-- frozen, partitioned): requeue each job with a new entry, or fail it once it stalled more than maxStalled.
-- The old entry is acknowledged, so a late settle from the old worker is rejected (LEASE_LOST). The job
-- comes from the entry XAUTOCLAIM returns; the requeued one is a new entry in the full layout (entry.lua).
-- KEYS: id meta failed events ctl groups... streams...
-- ARGV: base group reaper idleMs maxStalled limit eventsMaxLen
--   reaper = a consumer name that only ever holds entries inside this script
-- Returns: {requeued, failed, then the ids of entries that held no job (written by hand: acknowledged and left
--   for the trim)}; a job whose entry cannot be read is failed as corrupt (corrupt.lua) and counted in failed
-- Events: stalled (requeued) or failed (reason 'stalled', or why it is corrupt) per job; waiting, failed or
--   removed for the jobs that waited for one failed for good (dependents.lua); added (a batch's callback,
--   when a job failed here was its last member: batches.lua)
-- Wakes: with a ctl entry `slots`, the workers a claim refused at the queue's concurrency, when it frees slots
--   (queue-limits.lua)
-- Loops: one XAUTOCLAIM of at most `limit` entries per level; call again while it returns a full count;
--        one pass over each level's consumers (one per worker that has read the queue)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue
--@include xinfo
--@include corrupt
--@include dedupe
--@include dependents
--@include queue-limits
--@include labels
--@include batches

local idKey, metaKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, reaper = ARGV[1], ARGV[2], ARGV[3]
local idleMs, maxStalled, limit, maxLen = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = nowMs()
local nowS = int(now)
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now,
  failed = failedKey, events = eventsKey, maxLen = maxLen }
local acks = newAcks(group, streams)
local requeued, failed, corrupt, strays, batches = 0, 0, 0, {}, nil
-- Jobs failed for good here, for the jobs that wait for them (dependents.lua).
local gone = {}

for level = 1, #streams do
  local reply = redis.call('XAUTOCLAIM', streams[level], group, reaper, idleMs, '0-0', 'COUNT', limit)
  for _, item in ipairs(reply[2]) do
    local entry, fields = item[1], item[2]
    acks.add(level - 1, entry)
    -- fields is nil (Redis 6.2) for an entry deleted under its PEL record; nothing to recover then.
    local j = fields and entryJob(entry, fields, level - 1)
    local problem = j and jobProblem(j, #levels)
    if j and not j.id then
      strays[#strays + 1] = entry
    elseif problem then
      failCorrupt(Q, j, problem)
      corrupt = corrupt + 1
      if type(j.grp) == 'string' then endDelivery(Q, j.grp) end
    elseif j then
      local stalls = tonumber(j.stalls) + 1
      j.stalls = int(stalls)
      if stalls > maxStalled then
        local reason = 'stalled: the job\'s worker stopped responding ' .. stalls .. ' times (maxStalled ' .. maxStalled .. ')'
        j.ats, j.atm, j.err, j.stack = int(tonumber(j.ats) + 1), int(tonumber(j.atm) + 1), reason, ''
        local f = recordFields('failed', j)
        putField(f, 'fon', nowS)
        redis.call('HSET', jobKey(base, j.id), unpack(f))
        redis.call('ZADD', failedKey, nowS, j.id)
        emit(eventsKey, maxLen, 'failed', j.id, reason)
        -- Failed for good: a dedupe key it holds is free (one HGET, on this rare path, for every such job),
        -- and its label entries move to failed (behind the gate: one HGET of meta per call).
        releaseDedupe(base, j.id)
        moveLabelsIf(base, metaKey, j.id, 'q', 'f', nowS, Q)
        gone[#gone + 1] = { j.id, 'f', reason }
        failed = failed + 1
        batches = tallyFailed(batches, j.opts)
      else
        -- The attempt that stalled was started: the next one is attempt ats + 2.
        j.ats = int(tonumber(j.ats) + 1)
        enqueue(Q, j, false)
        emit(eventsKey, maxLen, 'stalled', j.id, '')
        requeued = requeued + 1
      end
      endDelivery(Q, j.grp)
    end
  end
end

-- Acknowledge before the cleanup below: until then the reaper holds what it took back. Stray entries were
-- deliveries too (claim counted them active); failCorrupt counted its own failures.
local active = closeBatch(acks, metaKey, requeued + failed + corrupt + #strays)
if active then slotsFreed(metaKey, ctlKey, active) end
countFinished(Q, 'failed', failed)
if batches then flushBatches(Q, batches, eventsKey, maxLen) end
if failed > 0 and LINKS.open(Q) then LINKS.settleMembers(Q, gone) end

-- Forget consumers that hold nothing and were idle past idleMs (closed or crashed workers, and the
-- reaper itself), so the group's consumer list does not grow with every worker ever started. A live idle
-- worker loses nothing: its next XREADGROUP recreates its consumer.
for level = 1, #streams do
  for _, info in ipairs(redis.call('XINFO', 'CONSUMERS', streams[level], group)) do
    local consumer = xinfoFields(info)
    if consumer['pending'] == 0 and (consumer['idle'] > idleMs or consumer['name'] == reaper) then
      redis.call('XGROUP', 'DELCONSUMER', streams[level], group, consumer['name'])
    end
  end
end

flushEvents()
local reply = { requeued, failed + corrupt }
for _, entry in ipairs(strays) do reply[#reply + 1] = entry end
return reply

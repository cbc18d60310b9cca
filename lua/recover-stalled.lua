-- recover-stalled: take back deliveries whose worker stopped extending its lease for idleMs (crashed,
-- frozen, partitioned): requeue each job with a new entry, or fail it once it stalled more than maxStalled.
-- The old entry is acknowledged and deleted, so a late settle from the old worker is rejected (LEASE_LOST).
-- KEYS: meta failed events ctl groups... streams...
-- ARGV: base group reaper idleMs maxStalled limit eventsMaxLen
--   reaper = a consumer name that only ever holds entries inside this script
-- Returns: {requeued, failed}
-- Events: stalled (requeued) or failed (reason 'stalled') per job
-- Loops: one XAUTOCLAIM of at most `limit` entries per level; call again while it returns a full count;
--        one pass over each level's consumers (one per worker that has read the queue)
--@include status
--@include keys
--@include clock
--@include events
--@include settle
--@include enqueue
--@include xinfo

local metaKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local streams, levels = streamKeys(5 + GROUP_KEY_COUNT)
local base, group, reaper = ARGV[1], ARGV[2], ARGV[3]
local idleMs, maxStalled, limit, maxLen = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = nowMs()
local Q = { base = base, levels = levels, G = groupKeys(5), ctl = ctlKey, meta = metaKey, now = now }
local acks = newAcks(group, streams)
local requeued, failed = 0, 0

for level = 1, #streams do
  local reply = redis.call('XAUTOCLAIM', streams[level], group, reaper, idleMs, '0-0', 'COUNT', limit)
  for _, item in ipairs(reply[2]) do
    local entry, fields = item[1], item[2]
    acks.add(level - 1, entry)
    -- fields is nil (Redis 6.2) for an entry deleted under its PEL record; nothing to recover then.
    if fields then
      local id = fields[2]
      local job = ownedJob(base, id, entry, 6)
      if job then
        local key = jobKey(base, id)
        local stalls = tonumber(job[6] or 0) + 1
        if stalls > maxStalled then
          local reason = 'stalled: the job\'s worker stopped responding ' .. stalls .. ' times (maxStalled ' .. maxStalled .. ')'
          redis.call('HSET', key, 'state', 'failed', 'fon', now, 'atm', tonumber(job[3] or 0) + 1, 'stalls', stalls, 'err', reason)
          redis.call('ZADD', failedKey, now, id)
          emit(eventsKey, maxLen, 'ev', 'failed', 'id', id, 'reason', reason)
          failed = failed + 1
          endDelivery(Q, job)
        else
          enqueue(Q, id, tonumber(job[5]), job[4], 'stalls', stalls)
          emit(eventsKey, maxLen, 'ev', 'stalled', 'id', id)
          requeued = requeued + 1
          endDelivery(Q, job)
        end
      end
    end
  end
end


-- Acknowledge before the cleanup below: until then the reaper holds what it took back.
closeBatch(acks, metaKey, requeued + failed)
countFinished(metaKey, 'failed', failed)

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
return { requeued, failed }

-- complete: settle a batch of deliveries as completed, each only if the caller still holds it (fencing:
-- the job must be active and its live entry must be the one the caller was handed).
-- KEYS: meta completed events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level result keepCount keepAge
--   level = the stream the delivery came from (claim's `stream`); result = msgpack return value;
--   keepCount 0 deletes the job at once, -1 = no count limit; keepAge = seconds, -1 = no age limit
-- Returns: per job OK | JOB_MISSING | LEASE_LOST (nothing changed for that job)
-- Events: completed (per settled job, with the result)
-- Loops: one pass over the batch (at most 1,000); retention deletes at most 1,000 jobs per rule
--@include status
--@include keys
--@include clock
--@include events
--@include settle

local metaKey, completedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local streams, levels = streamKeys(5 + GROUP_KEY_COUNT)
local base, group, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = nowMs()
local nowS = int(now)
local Q = { base = base, levels = levels, G = groupKeys(5), ctl = ctlKey, meta = metaKey, now = now }
local FIRST, FIELDS = 4, 6
local acks, retention = newAcks(group, streams), newRetention()
local out, settled = {}, 0

for o = FIRST, #ARGV, FIELDS do
  local id, entry, level, result = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), ARGV[o + 3]
  local keepCount, keepAge = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
  local job, status = ownedJob(base, id, entry, 4)
  if job then
    acks.add(level, entry)
    endDelivery(Q, job)
    settled = settled + 1
    if keepCount == 0 then
      redis.call('DEL', jobKey(base, id), logsKey(base, id))
    else
      redis.call('HSET', jobKey(base, id), 'state', 'completed', 'fon', nowS, 'rv', result, 'atm', int(tonumber(job[3] or 0) + 1))
      redis.call('ZADD', completedKey, nowS, id)
      retention.add(ARGV[o + 4], ARGV[o + 5])
    end
    emit(eventsKey, maxLen, 'ev', 'completed', 'id', id, 'result', result)
  end
  out[#out + 1] = status
end

if closeBatch(acks, metaKey, settled) then retention.apply(completedKey, base, now) end
countFinished(metaKey, 'completed', settled)
flushEvents()
return out

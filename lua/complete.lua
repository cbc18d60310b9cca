-- complete: settle a batch of deliveries as completed, each only if the caller still holds it (fencing: its
-- entry must still be pending, see settle.lua). The worker sends back the job's
-- fields it was handed, so the completed job's hash is written from ARGV without reading its entry.
-- KEYS: meta completed events ctl groups... streams...
-- ARGV: base group eventsMaxLen | per job: id entry level result keepCount keepAge name data opts ts prio group ats atm pon
--   level = the stream the delivery came from (claim's `stream`); result = msgpack return value;
--   keepCount 0 deletes the job at once, -1 = no count limit; keepAge = seconds, -1 = no age limit;
--   name data opts ts prio group ats atm pon = the job as claim handed it (atm: attempts made before this one)
-- Returns: per job OK | LEASE_LOST (it runs or ran elsewhere) | JOB_MISSING (it is gone: removed, obliterated);
--   a job that is not OK is left as it was
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
local FIRST, FIELDS = 4, 15

local now = nowMs()
local nowS = int(now)
local Q = { base = base, levels = levels, G = groupKeys(5), ctl = ctlKey, meta = metaKey, now = now }
local acks, retention = newAcks(group, streams), newRetention()
local out, settled, kept, dropped = {}, 0, {}, {}

for o = FIRST, #ARGV, FIELDS do
  local id, entry = ARGV[o], ARGV[o + 1]
  local status
  if not acks.take(tonumber(ARGV[o + 2]), entry) then
    status = lostStatus(base, group, streams, levels, id)
  else
    status = STATUS.OK
    local result, g = ARGV[o + 3], ARGV[o + 11]
    endDelivery(Q, g)
    settled = settled + 1
    if ARGV[o + 4] == '0' then
      -- Deleted at once; a hash (a locator, progress) or logs may exist.
      dropped[#dropped + 1] = id
    else
      local key, atm = jobKey(base, id), int(tonumber(ARGV[o + 13]) + 1)
      if g == '' then
        redis.call('HSET', key, 'state', 'completed', 'fon', nowS, 'rv', result, 'name', ARGV[o + 6], 'data', ARGV[o + 7],
          'opts', ARGV[o + 8], 'ts', ARGV[o + 9], 'prio', ARGV[o + 10], 'ats', ARGV[o + 12], 'atm', atm, 'pon', ARGV[o + 14])
      else
        redis.call('HSET', key, 'state', 'completed', 'fon', nowS, 'rv', result, 'name', ARGV[o + 6], 'data', ARGV[o + 7],
          'opts', ARGV[o + 8], 'ts', ARGV[o + 9], 'prio', ARGV[o + 10], 'ats', ARGV[o + 12], 'atm', atm, 'pon', ARGV[o + 14], 'grp', g)
      end
      kept[#kept + 1] = nowS
      kept[#kept + 1] = id
      retention.add(ARGV[o + 4], ARGV[o + 5])
    end
    emit(eventsKey, maxLen, 'completed', id, result)
  end
  out[#out + 1] = status
end

if #dropped > 0 then dropJobs(base, dropped) end
-- One ZADD for the batch: members added one command per job cost a command each.
if #kept > 0 then redis.call('ZADD', completedKey, unpack(kept)) end
if closeBatch(acks, metaKey, settled) then retention.apply(completedKey, base, now) end
countFinished(metaKey, 'completed', settled)
flushEvents()
return out

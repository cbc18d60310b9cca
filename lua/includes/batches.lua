-- batches: Sidekiq's batches. A batch is one hash of counters, `batch:<id>` (keys.lua batchKey), and each
-- member carries its batch id in its stored options; no list of members exists anywhere. No script touches
-- all members of a batch: each settle of a member moves its batch's counters in the script that settles it
-- (one HINCRBY per batch per call), and the settle that leaves nothing pending in a sealed batch enqueues
-- its callback jobs, each at most once: the callback's job id is written in the same script (the fired
-- flag), and a later settle that finds it there enqueues nothing.
--
-- The hash's fields:
--   total      members added
--   pending    members not settled yet, plus 1 while the batch is open (not sealed). A settle's HINCRBY then
--              answers whether it was the last one (0), and sealing takes the 1 away, so a seal that comes
--              after every member settled finds 0 and fires at once
--   failed     members failed for good; a member removed before it settled counts here too
--              (completed is derived: total - failed - members pending)
--   ts         when the batch was opened (ms); sealed: when it was sealed (ms), absent while open;
--   done       when pending first reached 0 (ms)
--   keep       seconds the hash is kept once nothing is pending (PEXPIRE; a retry of a member makes it
--              live again and takes the expiry away)
--   onComplete, onSuccess        the callback jobs, each packed (name data opts prio grp), absent when not asked
--   onCompleteJob, onSuccessJob  the callback's job id once enqueued: the fired flags
-- The index `batches` (keys.lua batchesKey) holds every batch's id, scored by when its hash expires
-- (+inf while anything is pending): obliterate deletes the hashes through it.
--
-- C, the context the functions below take, is the script's Q as enqueue takes it (base, idKey, levels, G,
-- ctl, meta, now); the events key and maxLen come as arguments.
--@include keys
--@include numbers
--@include events
--@include enqueue

-- The stored options' map header and body: a fixmap, map16 or map32 header (the only ones msgpack has);
-- zero bytes are an empty map. nil for bytes that are not a map.
local function mapParts(bytes)
  if #bytes == 0 then return 0, '' end
  local h = string.byte(bytes, 1)
  if h >= 0x80 and h <= 0x8f then return h - 0x80, string.sub(bytes, 2) end
  if h == 0xde and #bytes >= 3 then return (struct.unpack('>I2', bytes, 2)), string.sub(bytes, 4) end
  if h == 0xdf and #bytes >= 5 then return (struct.unpack('>I4', bytes, 2)), string.sub(bytes, 6) end
  return nil
end

local function mapHeader(n)
  if n <= 15 then return string.char(0x80 + n) end
  if n <= 65535 then return string.char(0xde) .. struct.pack('>I2', n) end
  return string.char(0xdf) .. struct.pack('>I4', n)
end

-- A msgpack str (fixstr or str8; batch ids and the keys below are at most 128 bytes) and a count.
local function packStr(s)
  if #s <= 31 then return string.char(0xa0 + #s) .. s end
  return string.char(0xd9, #s) .. s
end
local function packCount(n)
  if n < 4294967296 then return string.char(0xce) .. struct.pack('>I4', n) end
  return string.char(0xcb) .. struct.pack('>d', n)
end

-- A member's stored options: `batch` first, then the options the producer sent. Put first so that any
-- reader finds it at a fixed place (batchOf), without decoding the rest.
local function withBatch(opts, id)
  local n, body = mapParts(opts)
  if not n then n, body = 0, '' end
  return mapHeader(n + 1) .. '\165batch' .. packStr(id) .. body
end

-- A member's batch id from its stored options, or nil: a fixmap header, fixstr 'batch' (0xa5 'batch'),
-- then the id as a fixstr or str8. Redis' cmsgpack cannot decode the rest of the map (a trace context is
-- msgpack bin), and a job outside a batch pays a length check here, or three byte compares when it has
-- options of its own. src/redis/batch-store.ts memberBatch reads the same bytes the same way.
local function batchOf(opts)
  if type(opts) ~= 'string' or #opts < 9 then return nil end
  local map, s, b = string.byte(opts, 1, 3)
  if map < 0x81 or map > 0x8f or s ~= 0xa5 or b ~= 0x62 or string.sub(opts, 3, 7) ~= 'batch' then return nil end
  local h, len, from = string.byte(opts, 8), 0, 9
  if h > 0xa0 and h <= 0xbf then
    len = h - 0xa0
  elseif h == 0xd9 then
    len, from = string.byte(opts, 9), 10
  end
  if len == 0 or #opts < from + len - 1 then return nil end
  return string.sub(opts, from, from + len - 1)
end

-- The callback job's data: the user's map with batchId, total, completed and failed added (the producer
-- refused user data that has these keys, src/batches.ts).
local function withTotals(data, id, total, failed)
  local n, body = mapParts(data)
  if not n then n, body = 0, '' end
  return mapHeader(n + 4) .. body .. packStr('batchId') .. packStr(id) .. packStr('total') .. packCount(total) ..
    packStr('completed') .. packCount(total - failed) .. packStr('failed') .. packCount(failed)
end

-- Enqueues callback `spec` (packed: name data opts prio grp) of batch `id` as a new waiting job with a
-- generated id, and records that id under `flag` in the batch's hash.
local CALLBACK = '>I4c0I4c0I4c0I4c0I4c0'
local function fireCallback(C, key, id, flag, spec, total, failed, eventsKey, maxLen)
  local name, data, opts, prio, grp = struct.unpack(CALLBACK, spec)
  local jobId = int(redis.call('INCR', C.idKey))
  -- The priority was checked against the queue's levels when the batch was opened; levels never change.
  enqueue(C, { id = jobId, name = name, data = withTotals(data, id, total, failed), opts = opts, ts = int(C.now), prio = prio,
    grp = grp, ats = '0', atm = '0', stalls = '0' }, false)
  redis.call('HSET', key, flag, jobId)
  emit(eventsKey, maxLen, 'added', jobId, name)
end

-- Nothing of batch `id` is pending: each callback that may fire and has not fires, and the hash is kept
-- `keep` seconds from now.
local function batchDone(C, key, id, eventsKey, maxLen)
  local f = redis.call('HMGET', key, 'total', 'failed', 'keep', 'done', 'onComplete', 'onCompleteJob', 'onSuccess', 'onSuccessJob')
  local total, failed, keep = tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 86400
  if f[5] and not f[6] then fireCallback(C, key, id, 'onCompleteJob', f[5], total, failed, eventsKey, maxLen) end
  if f[7] and not f[8] and failed == 0 then fireCallback(C, key, id, 'onSuccessJob', f[7], total, failed, eventsKey, maxLen) end
  if not f[4] then redis.call('HSET', key, 'done', int(C.now)) end
  redis.call('PEXPIRE', key, int(keep * 1000))
  redis.call('ZADD', batchesKey(C.base), int(C.now + keep * 1000), id)
end

-- Moves batch `id`'s counters: pending by dPending, failed by dFailed. The move that leaves nothing
-- pending runs batchDone; one that makes a done batch pending again (a retried member) keeps its hash until
-- it is done again. A batch whose hash is gone (expired, obliterated) is left alone.
local function moveBatch(C, id, dPending, dFailed, eventsKey, maxLen)
  local key = batchKey(C.base, id)
  if dPending > 0 and redis.call('EXISTS', key) == 0 then return end
  local pending = redis.call('HINCRBY', key, 'pending', int(dPending))
  -- pending never goes below 0 in a batch that exists: below 0, the HINCRBY just made the hash.
  if pending < 0 then
    if redis.call('HEXISTS', key, 'total') == 0 then redis.call('DEL', key) end
    return
  end
  if dFailed ~= 0 then redis.call('HINCRBY', key, 'failed', int(dFailed)) end
  if pending == 0 then
    batchDone(C, key, id, eventsKey, maxLen)
  elseif dPending > 0 and pending == dPending then
    redis.call('PERSIST', key)
    redis.call('ZADD', batchesKey(C.base), '+inf', id)
  end
end

-- The settles of one script call, per batch ({ [id] = { completed, failed } }), so a call that settles many
-- members of one batch moves its counters once. nil until a member settles: a call without one makes no table.
local function tallyBatch(tally, id, failed)
  tally = tally or {}
  local t = tally[id]
  if not t then
    t = { 0, 0 }
    tally[id] = t
  end
  if failed then t[2] = t[2] + 1 else t[1] = t[1] + 1 end
  return tally
end

-- complete: a member's `hashed` is 'b', complete's digit, its batch's id (src/redis/store.ts). Returns the
-- tally and the digit alone.
local function tallyCompleted(tally, hashed)
  return tallyBatch(tally, string.sub(hashed, 3), false), string.sub(hashed, 2, 2)
end

-- A job failed for good (fail, recover-stalled): counted in its batch when its options name one.
local function tallyFailed(tally, opts)
  local id = batchOf(opts)
  if id then return tallyBatch(tally, id, true) end
  return tally
end

local function flushBatches(C, tally, eventsKey, maxLen)
  if not tally then return end
  for id, t in pairs(tally) do moveBatch(C, id, -(t[1] + t[2]), t[2], eventsKey, maxLen) end
end

-- One job failed for good outside a settle's batch (corrupt.lua): C also holds events and maxLen.
local function batchMemberFailed(C, opts)
  local id = batchOf(opts)
  if id then moveBatch(C, id, -1, 1, C.events, C.maxLen) end
end

-- A finished member sent back to waiting (revive.lua): pending again, and no longer failed when it had
-- failed. It cannot be the last settle, so nothing fires here.
local function batchMemberRevived(C, opts, wasFailed)
  local id = batchOf(opts)
  if id then moveBatch(C, id, 1, wasFailed and -1 or 0, nil, 0) end
end

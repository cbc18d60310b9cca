-- extend-leases: reset the idle time of the deliveries a worker still runs, so recover-stalled leaves them,
-- and record the worker's heartbeat in the queue's worker registry (queue.getWorkers).
-- KEYS: workers workerInfo streams...
-- ARGV: group consumer beatTtl info jobs | per job, packed in jobs: level entry
--   beatTtl = ms until the worker counts as gone unless it beats again (src/worker/heartbeat.ts); 0 = it
--   leaves: its registry entry is deleted; info = what it says of itself (JSON), stored as given;
--   jobs = the deliveries the worker holds (packed.lua); level = the stream of the delivery (claim's `stream`)
-- Returns: the entry ids this consumer no longer holds (reclaimed as stalled): their results will be refused
-- Events: none
-- Loops: one pass over the deliveries (a worker holds at most `concurrency`), then one XCLAIM per stream
--        that has any, per 1,000 of its entries; at most GONE_PER_BEAT (10) gone workers deleted per call
--@include packed
--@include clock
local workersKey, infoKey = KEYS[1], KEYS[2]
local group, consumer, beatTtl, info, jobs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]

-- The registry: `workers` scores each worker by when its heartbeat runs out, `workerInfo` holds what it
-- said. A beat is one ZADD and one HSET; workers whose time ran out (killed, frozen) are deleted by the
-- beats of the others, 10 per beat at most, so a fleet that lost many at once is cleaned in a few beats.
local GONE_PER_BEAT = 10
local now = nowMs()
if beatTtl > 0 then
  redis.call('ZADD', workersKey, now + beatTtl, consumer)
  redis.call('HSET', infoKey, consumer, info)
else
  redis.call('ZREM', workersKey, consumer)
  redis.call('HDEL', infoKey, consumer)
end
local gone = redis.call('ZRANGEBYSCORE', workersKey, '-inf', '(' .. now, 'LIMIT', 0, GONE_PER_BEAT)
if #gone > 0 then
  redis.call('ZREM', workersKey, unpack(gone))
  redis.call('HDEL', infoKey, unpack(gone))
end

local JOB = packedFormat(2)
local byLevel = {}
local at = 1
while at <= #jobs do
  local level, entry, nextAt = struct.unpack(JOB, jobs, at)
  at = nextAt
  local ids = byLevel[level]
  if not ids then
    ids = {}
    byLevel[level] = ids
  end
  ids[#ids + 1] = entry
end
-- XCLAIM takes at most CHUNK ids per call: unpack() of a table past Lua's C stack (about 8,000 values) fails,
-- and a worker may run up to 100,000 jobs.
local CHUNK = 1000
local lost = {}
for level, ids in pairs(byLevel) do
  local key = KEYS[tonumber(level) + 3]
  for first = 1, #ids, CHUNK do
    local last = math.min(#ids, first + CHUNK - 1)
    -- JUSTID: reset idle time without bumping the delivery counter or returning the entries' fields. It goes
    -- into the table: Lua expands only a call's last argument, so `unpack(ids), 'JUSTID'` passed ids[1]
    -- alone and every other job of the worker lost its lease (test/unit/scripts.test.ts refuses that shape).
    local args = { 'XCLAIM', key, group, consumer, 0 }
    for i = first, last do args[#args + 1] = ids[i] end
    args[#args + 1] = 'JUSTID'
    local held = {}
    for _, id in ipairs(redis.call(unpack(args))) do held[id] = true end
    for i = first, last do
      if not held[ids[i]] then lost[#lost + 1] = ids[i] end
    end
  end
end
return lost

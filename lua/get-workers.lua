-- get-workers: the workers of the queue whose heartbeat has not run out, with what each said of itself.
-- KEYS: workers workerInfo
-- ARGV: limit
--   limit = most workers returned
-- Returns: {Redis' time (ms), then per worker: consumer, heartbeat deadline (ms), info (JSON, or false when
--   it has none)}, the ones whose heartbeat runs out last first
-- Events: none
-- Loops: at most `limit` workers
--@include clock
local workersKey, infoKey = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local now = nowMs()
local alive = redis.call('ZREVRANGEBYSCORE', workersKey, '+inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local out = { now }
if #alive == 0 then return out end
local ids = {}
for i = 1, #alive, 2 do ids[#ids + 1] = alive[i] end
local infos = redis.call('HMGET', infoKey, unpack(ids))
for i, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = alive[2 * i]
  out[#out + 1] = infos[i]
end
return out

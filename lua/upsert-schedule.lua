-- upsert-schedule: create or change a recurring schedule, atomically with its first run. Idempotent: the
-- same definition again (byte for byte) changes nothing, so every process may upsert at every boot.
-- KEYS: schedules scheduleNext scheduleRuns
-- ARGV: scheduleId definition next limit
--   definition = the encoded schedule (src/schedules/definition.ts, deterministic); next = its first run
--   (ms, computed by the caller from Redis' clock), or -1 for none; limit = runs after which it ends, or -1
-- Returns: {DUPLICATE, next run or -1} (unchanged: the stored next run stands)
--        | {OK, next run or -1} (created, or changed: the next run is recomputed)
-- Events: none
-- Loops: none
--@include status

local schedulesKey, nextKey, runsKey = KEYS[1], KEYS[2], KEYS[3]
local id, definition, nextRun, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])

if redis.call('HGET', schedulesKey, id) == definition then
  local score = redis.call('ZSCORE', nextKey, id)
  return { STATUS.DUPLICATE, score and tonumber(score) or -1 }
end
redis.call('HSET', schedulesKey, id, definition)
-- Runs so far are kept through a change: a raised limit continues the count, a lowered one may end it.
local runs = tonumber(redis.call('HGET', runsKey, id) or '0')
if nextRun < 0 or (limit > 0 and runs >= limit) then
  redis.call('ZREM', nextKey, id)
  return { STATUS.OK, -1 }
end
redis.call('ZADD', nextKey, nextRun, id)
return { STATUS.OK, nextRun }

-- due-schedules: what a schedule runner needs for one pass, in one round trip and on the clock of the
-- Redis that holds the queue (the one fire-schedule checks against): now, the soonest schedules, and the
-- definitions of those that are due.
-- KEYS: scheduleNext schedules
-- ARGV: limit
-- Returns: {now (ms), then per schedule among the `limit` soonest: id, next run (ms), definition when due
--          else false}; limit 0 returns {now} alone
-- Events: none
-- Loops: at most `limit` schedules
--@include clock

local nextKey, schedulesKey = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local now = nowMs()
local out = { now }
if limit <= 0 then return out end
local soonest = redis.call('ZRANGE', nextKey, 0, limit - 1, 'WITHSCORES')
for i = 1, #soonest, 2 do
  local id, at = soonest[i], tonumber(soonest[i + 1])
  out[#out + 1] = id
  out[#out + 1] = at
  out[#out + 1] = at <= now and redis.call('HGET', schedulesKey, id) or false
end
return out

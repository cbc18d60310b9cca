-- numbers: integers handed to redis.call as strings. Redis 7.0 turns a Lua number argument into text with
-- snprintf("%.17g"), the exact-decimal float path: about 9% of all Redis instructions of an add + process
-- run went there (callgrind, 10,000 jobs). '%d' formats the same integer for a fraction of that.
local function int(n) return string.format('%d', n) end
-- A retry's wait as fail reads it: at most MAX_RETRY_DELAY_MS (src/backoff.ts, which sends no more), and -1,
-- fail for good, for what is not a number. '%d' of now + 1e19 wraps to a due time in the past.
local MAX_RETRY_DELAY_MS = 2147483647
local function retryDelayOf(arg)
  local ms = tonumber(arg)
  if ms == nil or ms ~= ms then return -1 end
  return math.min(ms, MAX_RETRY_DELAY_MS)
end

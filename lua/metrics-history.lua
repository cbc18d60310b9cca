-- metrics-history: jobs completed and failed for good in each of the last `minutes` minutes of Redis' clock,
-- the current minute last, minutes without any as 0 (history.lua counts them). Read only.
-- KEYS: history historyNow
-- ARGV: minutes
--   minutes = how many minutes, the current one included (1 to HISTORY_MINUTES; the caller checks)
-- Returns: {Redis' time (ms), then per minute, oldest first: completed, failed}
-- Events: none
-- Loops: one pass over each hash (at most 2 × HISTORY_MINUTES + 5 fields) and one over `minutes`
--@include clock
--@include history

local minutes = math.min(tonumber(ARGV[1]), HISTORY_MINUTES)
local now = nowMs()
local last = math.floor(now / 60000)
local first = last - minutes + 1

-- HGETALL, not HMGET of every minute's field: each field an HMGET names walks the listpack again.
local counts = {}
for _, key in ipairs(KEYS) do
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local name = fields[i]
    local m = name ~= 'at' and tonumber(string.sub(name, 2))
    if m and m >= first and m <= last then
      -- The same minute in both hashes only after the clock stepped back: the counts add up.
      local at = (m - first) * 2 + (string.sub(name, 1, 1) == 'f' and 2 or 1)
      counts[at] = (counts[at] or 0) + tonumber(fields[i + 1])
    end
  end
end

local out = { now }
for i = 1, minutes * 2 do out[i + 1] = counts[i] or 0 end
return out

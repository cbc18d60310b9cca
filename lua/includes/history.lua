-- history: jobs completed and failed for good per minute of Redis' clock, over the last HISTORY_MINUTES
-- minutes, for the dashboard's chart and Queue#getMetricsHistory (metrics-history.lua reads it). Counted
-- where the lifetime totals are (settle.lua countFinished, corrupt.lua): once per settle call, not per job.
--
-- Two hashes (keys.lua): `history:now` holds the minute being counted, fields c<minute> and f<minute> and
-- `at` (that minute); `history` holds the minutes before it, the same fields, one pair per minute that had
-- any. A settle call pays one HINCRBY on the small hash. A single hash with every minute in it would make
-- that HINCRBY find its field at the end of a 361-field listpack: 90,900 Redis instructions per call,
-- against 5,500 in a hash of a few fields (npm run bench:lua-costs). The first count of a kind in a new
-- minute (HINCRBY answers exactly n) rolls the minute before it into `history` and drops from `history` the
-- minutes that left the window: at most 7 commands, once a minute, whatever the number of settle calls.
--
-- Bounded: `history` holds at most HISTORY_MINUTES minutes before `at` (2 fields each), and `history:now`
-- at most 5 fields. A clock that steps back leaves the minutes "ahead" of it in `history` until they too
-- fall out of the window; they are never counted twice (a moved minute is added with HINCRBY).
--@include keys
--@include numbers

-- 3 hours: 360 fields, which keep `history` a listpack (about 5 KiB) under Redis' default
-- hash-max-listpack-entries of 512; 6 hours would make it a hashtable of about 43 KiB per queue.
local HISTORY_MINUTES = 180
local HISTORY_KIND = { completed = 'c', failed = 'f' }

-- Moves the counts of the minute `history:now` held into `history` and drops the minutes that left the
-- window, when `minute` is a new one. `held` is `history:now` as HGETALL read it.
local function rollMinute(base, minute, held)
  local nowKey, pastKey = historyNowKey(base), historyKey(base)
  local at
  for i = 1, #held, 2 do
    if held[i] == 'at' then at = tonumber(held[i + 1]) end
  end
  if at == minute then return end
  redis.call('HSET', nowKey, 'at', int(minute))
  if not at then return end
  local oldest = minute - HISTORY_MINUTES
  local gone = {}
  for i = 1, #held, 2 do
    local name = held[i]
    local m = name ~= 'at' and tonumber(string.sub(name, 2))
    if m and m ~= minute then
      gone[#gone + 1] = name
      if m > oldest then redis.call('HINCRBY', pastKey, name, held[i + 1]) end
    end
  end
  if #gone > 0 then redis.call('HDEL', nowKey, unpack(gone)) end
  -- HKEYS first: an HDEL of a field that is not there still walks the whole listpack.
  local stale = {}
  for _, name in ipairs(redis.call('HKEYS', pastKey)) do
    local m = tonumber(string.sub(name, 2))
    if not m or m <= oldest then stale[#stale + 1] = name end
  end
  if #stale > 0 then redis.call('HDEL', pastKey, unpack(stale)) end
end

-- Counts `n` jobs (n > 0) that ended as `field` ('completed' or 'failed') at `now` (ms, Redis' clock).
local function countMinute(base, now, field, n)
  local minute = math.floor(now / 60000)
  local nowKey = historyNowKey(base)
  if redis.call('HINCRBY', nowKey, HISTORY_KIND[field] .. int(minute), int(n)) == n then
    rollMinute(base, minute, redis.call('HGETALL', nowKey))
  end
end

-- claim: hand up to `count` ready jobs to one consumer, lowest level first, after promoting due delayed jobs.
-- KEYS: meta delayed events ctl wait...
-- ARGV: base group consumer count eventsMaxLen promoteLimit
-- Returns: {OK, n, then per job: id entry level name data opts ats atm ts pon}
--        | {EMPTY or PAUSED, ms until the next delayed job is due (-1: none), last ctl entry id,
--           last entry id of each level}: the ids a worker blocks on with XREAD, so no add is missed
--        | {NEEDS_INIT}: the queue was obliterated (or never initialised); run init, then claim again
-- Events: active (per job)
-- Loops: at most promoteLimit promotions; XREADGROUP per level until `count` jobs are claimed or the level
--        is empty (each read takes at least one entry off the stream); the caller's count is at most 1,000
--@include status
--@include keys
--@include clock
--@include events
--@include promote

local metaKey, delayedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waits = waitKeys(5)
local base, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local count, maxLen, promoteLimit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local meta = redis.call('HMGET', metaKey, 'levels', 'paused')
if not meta[1] then return { STATUS.NEEDS_INIT } end
local now = nowMs()
promoteDue(delayedKey, base, waits, now, promoteLimit)

local status = STATUS.PAUSED
if meta[2] ~= '1' then
  local out = { STATUS.OK, 0 }
  local n = 0
  for level = 1, #waits do
    -- Read this level until it is empty or the batch is full: a leftover entry skipped below must not
    -- let a lower level be served while this one still has ready jobs.
    while n < count do
      local want = count - n
      local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'STREAMS', waits[level], '>')
      if not reply then break end
      local items = reply[1][2]
      for _, item in ipairs(items) do
        local entry, id = item[1], item[2][2]
        local key = jobKey(base, id)
        local job = redis.call('HMGET', key, 'state', 'entry', 'name', 'data', 'opts', 'ats', 'atm', 'ts')
        if job[1] == 'waiting' and job[2] == entry then
          local ats = tonumber(job[6]) + 1
          redis.call('HSET', key, 'state', 'active', 'ats', ats, 'pon', now)
          n = n + 1
          local o = #out
          out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = id, entry, level - 1, job[3], job[4]
          out[o + 6], out[o + 7], out[o + 8], out[o + 9], out[o + 10] = job[5], ats, tonumber(job[7]), tonumber(job[8]), now
          emit(eventsKey, maxLen, 'ev', 'active', 'id', id, 'attempt', ats)
        else
          -- A leftover entry whose job was removed or requeued meanwhile: drop it, count nothing.
          redis.call('XACK', waits[level], group, entry)
          redis.call('XDEL', waits[level], entry)
        end
      end
      if #items < want then break end
    end
  end
  if n > 0 then
    redis.call('HINCRBY', metaKey, 'active', n)
    out[2] = n
    return out
  end
  status = STATUS.EMPTY
end

local nextDue = -1
local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
if first[2] then
  nextDue = tonumber(first[2]) - now
  if nextDue < 0 then nextDue = 0 end
end
local function lastId(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if last[1] then return last[1][1] end
  return '0-0'
end
local out = { status, nextDue, lastId(ctlKey) }
for level = 1, #waits do out[#out + 1] = lastId(waits[level]) end
return out

-- metrics: one read of everything the metrics exporter reports for a queue, at a bounded cost per scrape.
-- Waiting per level is the level stream's entries minus its pending (delivered, unsettled) ones and minus
-- its settled entries not trimmed yet (meta acked<level>, see settle.lua): what is left is exactly the
-- undelivered jobs. XINFO GROUPS gives the group's pending count and last-delivered-id in O(1) (one
-- group per stream), unlike XPENDING's summary, which walks every consumer. The oldest waiting job is
-- the first entry after last-delivered-id; its ready time is in its fields (entry.lua). A level's front
-- (jobs a RateLimitError gave back, release.lua) adds its ZCARD while there are any; they are not looked
-- at for the oldest age.
-- KEYS: meta delayed completed failed groups... streams...
-- ARGV: base group
-- Returns: {paused (0|1), active, delayed, completed, failed, completedTotal, failedTotal, grouped,
--   heldGroups, limited (-1 when more than 1,000 groups are held), oldestMs (-1 when none waits), blocked,
--   waiting of level 0, level 1, ...}
-- Events: none
-- Loops: one XLEN, XINFO GROUPS and XRANGE COUNT 1 per level stream (and a ZCARD while fronts hold jobs); one ZCARD per held group, skipped
--   when more than 1,000 groups are held (then `limited` is -1)
--@include keys
--@include groups
--@include clock
--@include xinfo
--@include entry
--@include active

-- 1,000 ZCARDs cost about 100 µs of Redis time; past that a scrape would stall Redis for every tenant,
-- so the exporter reports the number of held groups alone.
local MAX_HELD = 1000

local _, levels = streamKeys(KEYS, 5 + GROUP_KEY_COUNT)
local fields = { 'active', 'paused', 'gwaiting', 'completed', 'failed', 'front' }
for i = 1, #levels do fields[#fields + 1] = 'acked' .. (i - 1) end
local meta = redis.call('HMGET', KEYS[1], unpack(fields))
local G = groupKeys(KEYS, 5)
local now = nowMs()

local waiting, oldest = {}, -1
for i, key in ipairs(levels) do
  local n = 0
  local length = redis.call('XLEN', key) - tonumber(meta[6 + i] or '0')
  if length > 0 then
    local pending, last = 0, '0-0'
    local info = groupInfo(key, ARGV[2])
    if info then pending, last = info['pending'], info['last-delivered-id'] end
    -- Never below 0: a pending record whose entry a forced obliterate deleted counts in pending only.
    n = math.max(0, length - pending)
    if n > 0 then
      local first = redis.call('XRANGE', key, '(' .. last, '+', 'COUNT', 1)[1]
      local ready = first and entryReadyAt(first[2])
      if ready then
        -- Not below 0: a job's ready time is a producer's estimate (created = now - spent) or an older TIME.
        local age = math.max(0, now - ready)
        if age > oldest then oldest = age end
      end
    end
  end
  if tonumber(meta[6] or '0') > 0 then n = n + redis.call('ZCARD', frontKey(ARGV[1], i - 1)) end
  waiting[i] = n
end

local held = redis.call('ZCARD', G.throttled) + redis.call('SCARD', G.full)
local limited = 0
if held > MAX_HELD then
  limited = -1
elseif held > 0 then
  for _, group in ipairs({ redis.call('ZRANGE', G.throttled, 0, -1), redis.call('SMEMBERS', G.full) }) do
    for _, g in ipairs(group) do limited = limited + redis.call('ZCARD', groupWaitKey(ARGV[1], g)) end
  end
end

local paused = 0
if meta[2] == '1' then paused = 1 end
local out = {
  paused, activeCount(meta[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  tonumber(meta[4] or '0'), tonumber(meta[5] or '0'), tonumber(meta[3] or '0'), held, limited, oldest,
  redis.call('ZCARD', blockedKey(ARGV[1])),
}
for _, n in ipairs(waiting) do out[#out + 1] = n end
return out

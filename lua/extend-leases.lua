-- extend-leases: reset the idle time of the deliveries a worker still runs, so recover-stalled leaves them.
-- KEYS: streams...
-- ARGV: group consumer jobs | per job, packed in jobs: level entry
--   jobs = the deliveries the worker holds (packed.lua); level = the stream of the delivery (claim's `stream`)
-- Returns: the entry ids this consumer no longer holds (reclaimed as stalled): their results will be refused
-- Events: none
-- Loops: one pass over the deliveries (a worker holds at most `concurrency`), then one XCLAIM per stream
--        that has any, per 1,000 of its entries
--@include packed
local group, consumer, jobs = ARGV[1], ARGV[2], ARGV[3]
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
  local key = KEYS[tonumber(level) + 1]
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

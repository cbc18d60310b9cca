-- extend-leases: reset the idle time of the deliveries a worker still runs, so recover-stalled leaves them.
-- KEYS: streams...
-- ARGV: group consumer | per stream: n ids...
--   n = how many entry ids of that stream follow (0 for a stream the worker holds nothing on)
-- Returns: the entry ids this consumer no longer holds (reclaimed as stalled): their results will be refused
-- Events: none
-- Loops: one XCLAIM per stream that has entries; a worker holds at most `concurrency` entries
local group, consumer = ARGV[1], ARGV[2]
local lost = {}
local o = 3
for level = 1, #KEYS do
  local n = tonumber(ARGV[o])
  if n > 0 then
    local ids = {}
    for i = 1, n do ids[i] = ARGV[o + i] end
    -- JUSTID: reset idle time without bumping the delivery counter or returning the entries' fields. It goes
    -- into the table: Lua expands only a call's last argument, so `unpack(ids), 'JUSTID'` passed ids[1] alone
    -- and every other job of the worker lost its lease (test/unit/scripts.test.ts now refuses that shape).
    ids[n + 1] = 'JUSTID'
    local held = {}
    for _, id in ipairs(redis.call('XCLAIM', KEYS[level], group, consumer, 0, unpack(ids))) do
      held[id] = true
    end
    for i = 1, n do
      if not held[ids[i]] then lost[#lost + 1] = ids[i] end
    end
  end
  o = o + n + 1
end
return lost

-- get-counts: the number of jobs in each state, exact. Waiting is derived: the entries of the streams minus
-- the active ones and minus the settled ones not trimmed yet (meta acked<stream>, see settle.lua), plus
-- grouped jobs not yet admitted and jobs in the levels' fronts (meta front, release.lua), so add writes no
-- counter for ungrouped jobs. `limited` counts waiting jobs whose group is held back by a limit; `blocked`
-- the jobs waiting for their dependencies (dependents.lua).
-- KEYS: meta delayed completed failed groups... streams...
-- ARGV: base
-- Returns: {waiting, active, delayed, completed, failed, paused (0|1), limited, blocked}
-- Events: none
-- Loops: one XLEN per stream; one ZCARD per group held back (throttled or full) right now
--@include keys
--@include groups
--@include active
local streams = streamKeys(KEYS, 5 + GROUP_KEY_COUNT)
local fields = { 'active', 'paused', 'gwaiting', 'front' }
for i = 1, #streams do fields[#fields + 1] = 'acked' .. (i - 1) end
local meta = redis.call('HMGET', KEYS[1], unpack(fields))
local G = groupKeys(KEYS, 5)
local active = activeCount(meta[1])
local entries = tonumber(meta[3] or '0') + tonumber(meta[4] or '0')
for i, key in ipairs(streams) do entries = entries + redis.call('XLEN', key) - tonumber(meta[4 + i] or '0') end
local paused = 0
if meta[2] == '1' then paused = 1 end
local limited = 0
for _, held in ipairs({ redis.call('ZRANGE', G.throttled, 0, -1), redis.call('SMEMBERS', G.full) }) do
  for _, g in ipairs(held) do limited = limited + redis.call('ZCARD', groupWaitKey(ARGV[1], g)) end
end
return { entries - active, active, redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), paused, limited,
  redis.call('ZCARD', blockedKey(ARGV[1])) }

-- get-counts: the number of jobs in each state, exact and O(levels): waiting is derived as the entries of
-- the level streams minus the active ones (every settle deletes its entry), so add writes no counter.
-- KEYS: meta delayed completed failed wait...
-- ARGV: none
-- Returns: {waiting, active, delayed, completed, failed, paused (0|1)}
-- Events: none
-- Loops: one XLEN per level
--@include keys
local meta = redis.call('HMGET', KEYS[1], 'active', 'paused')
local active = tonumber(meta[1] or '0')
local entries = 0
for _, key in ipairs(waitKeys(5)) do entries = entries + redis.call('XLEN', key) end
local paused = 0
if meta[2] == '1' then paused = 1 end
return { entries - active, active, redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), paused }

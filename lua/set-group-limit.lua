-- set-group-limit: set or remove the limits of one group, or the default of every group (group '').
-- Groups held back under the old limits go back to the ring, where claim judges them by the new ones.
-- KEYS: ctl groups...
-- ARGV: group rule   (rule = "max duration concurrency", -1 for none; '' removes the group's rule)
-- Returns: OK
-- Events: none
-- Loops: one pass over the groups held back right now (throttled or full)
--@include status
--@include groups
local ctlKey = KEYS[1]
local G = groupKeys(KEYS, 2)
local g, rule = ARGV[1], ARGV[2]
if rule == '' then redis.call('HDEL', G.limits, g) else redis.call('HSET', G.limits, g, rule) end
local function release(held)
  for _, name in ipairs(held) do
    redis.call('HSET', G.state, name, 'ready')
    redis.call('RPUSH', G.ready, name)
  end
end
release(redis.call('ZRANGE', G.throttled, 0, -1))
redis.call('DEL', G.throttled)
release(redis.call('SMEMBERS', G.full))
redis.call('DEL', G.full)
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'group-limit', g)
return STATUS.OK

-- retry-jobs: send up to `limit` jobs of a finished set (failed or completed) back to waiting, oldest first.
-- KEYS: id meta set events ctl groups... streams...
-- ARGV: base limit eventsMaxLen completed
--   completed = '1' when `set` is the completed set (its jobs' records are in the done hash), '0' for failed
-- Returns: how many jobs were sent back (call again while it equals limit)
-- Events: waiting (per job)
-- Loops: at most `limit` jobs
--@include clock
--@include revive
local idKey, metaKey, setKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(6 + GROUP_KEY_COUNT)
local base, limit, maxLen, completed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(6), ctl = ctlKey, meta = metaKey, now = nowMs() }
local ids = redis.call('ZRANGE', setKey, 0, limit - 1)
for _, id in ipairs(ids) do revive(Q, setKey, eventsKey, maxLen, id, completed) end
flushEvents()
return #ids

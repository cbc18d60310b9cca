-- retry-jobs: send up to `limit` jobs of a finished set (failed or completed) back to waiting, oldest first.
-- KEYS: set events wait...
-- ARGV: base limit eventsMaxLen
-- Returns: how many jobs were sent back (call again while it equals limit)
-- Events: waiting (per job)
-- Loops: at most `limit` jobs
--@include revive
local setKey, eventsKey = KEYS[1], KEYS[2]
local waits = waitKeys(3)
local base, limit, maxLen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGE', setKey, 0, limit - 1)
for _, id in ipairs(ids) do revive(base, waits, setKey, eventsKey, maxLen, id) end
return #ids

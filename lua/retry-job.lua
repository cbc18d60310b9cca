-- retry-job: a person sends one failed or completed job back to waiting, its attempts reset.
-- KEYS: failed completed events wait...
-- ARGV: base id eventsMaxLen
-- Returns: OK | JOB_MISSING | WRONG_STATE (the job is waiting, delayed or active)
-- Events: waiting
-- Loops: none
--@include revive
local failedKey, completedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local waits = waitKeys(4)
local base, id, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local state = redis.call('HGET', jobKey(base, id), 'state')
if not state then return STATUS.JOB_MISSING end
if state == 'failed' then return revive(base, waits, failedKey, eventsKey, maxLen, id) end
if state == 'completed' then return revive(base, waits, completedKey, eventsKey, maxLen, id) end
return STATUS.WRONG_STATE

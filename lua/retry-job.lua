-- retry-job: a person sends one failed or completed job back to waiting, its attempts reset.
-- KEYS: meta failed completed events ctl groups... streams...
-- ARGV: base id eventsMaxLen
-- Returns: OK | JOB_MISSING | WRONG_STATE (the job is waiting, delayed or active)
-- Events: waiting
-- Loops: none
--@include clock
--@include revive
local metaKey, failedKey, completedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(6 + GROUP_KEY_COUNT)
local base, id, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local Q = { base = base, levels = levels, G = groupKeys(6), ctl = ctlKey, meta = metaKey, now = nowMs() }
local state = redis.call('HGET', jobKey(base, id), 'state')
if not state then return STATUS.JOB_MISSING end
if state ~= 'failed' and state ~= 'completed' then return STATUS.WRONG_STATE end
local status = revive(Q, state == 'failed' and failedKey or completedKey, eventsKey, maxLen, id)
flushEvents()
return status

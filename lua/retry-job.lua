-- retry-job: a person sends one failed or completed job back to waiting, its attempts reset.
-- KEYS: id meta failed completed events ctl groups... streams...
-- ARGV: base group id eventsMaxLen
-- Returns: OK | JOB_MISSING | WRONG_STATE (the job is waiting, delayed or active) | CORRUPT (its stored fields
--   cannot be used: it stays as it is)
-- Events: waiting
-- Loops: one XRANGE per level at most (locate)
--@include clock
--@include revive
--@include locate
local idKey, metaKey, failedKey, completedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local streams, levels = streamKeys(KEYS, 7 + GROUP_KEY_COUNT)
local base, group, id, maxLen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 7), ctl = ctlKey, meta = metaKey, now = nowMs() }
local state = locate(base, group, streams, levels, id)
if not state then return STATUS.JOB_MISSING end
if state ~= 'failed' and state ~= 'completed' then return STATUS.WRONG_STATE end
local status = revive(Q, state == 'failed' and failedKey or completedKey, eventsKey, maxLen, id, state == 'completed')
flushEvents()
return status

-- promote-delayed: move due delayed jobs to waiting, for a Scheduler: with no worker running, nothing else claims,
-- and claim is where workers promote. Workers blocked on the level streams wake on the new entries.
-- KEYS: id meta delayed ctl groups... streams...
-- ARGV: base limit
-- Returns: {jobs promoted, ms until the next delayed job is due or -1 for none} | {NEEDS_INIT}
-- Events: none (as when claim promotes)
-- Loops: at most `limit` promotions
--@include status
--@include keys
--@include clock
--@include promote

local idKey, metaKey, delayedKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local _, levels = streamKeys(5 + GROUP_KEY_COUNT)
local base, limit = ARGV[1], tonumber(ARGV[2])
-- An obliterated queue has no consumer group: entries added now would be invisible to it once init runs.
if not redis.call('HGET', metaKey, 'levels') then return { STATUS.NEEDS_INIT } end
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(5), ctl = ctlKey, meta = metaKey, now = nowMs() }
local promoted = promoteDue(Q, delayedKey, limit)
local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
local nextDue = -1
if first[2] then nextDue = math.max(0, tonumber(first[2]) - Q.now) end
return { promoted, nextDue }

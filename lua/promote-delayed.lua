-- promote-delayed: move due delayed jobs to waiting, for a Scheduler: with no worker running, nothing else claims,
-- and claim is where workers promote. Workers blocked on the level streams wake on the new entries.
-- KEYS: id meta delayed failed events ctl groups... streams...
-- ARGV: base limit eventsMaxLen
-- Returns: {jobs promoted, ms until the next delayed job is due or -1 for none} | {NEEDS_INIT}
-- Events: failed, for a due job whose hash cannot be used (corrupt.lua); none for a promotion (as when
--         claim promotes)
-- Loops: at most `limit` promotions
--@include status
--@include keys
--@include clock
--@include promote

local idKey, metaKey, delayedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local _, levels = streamKeys(KEYS, 7 + GROUP_KEY_COUNT)
local base, limit, maxLen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
-- An obliterated queue has no consumer group: entries added now would be invisible to it once init runs.
if not redis.call('HGET', metaKey, 'levels') then return { STATUS.NEEDS_INIT } end
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 7), ctl = ctlKey, meta = metaKey, now = nowMs(),
  failed = failedKey, events = eventsKey, maxLen = maxLen }
local promoted = promoteDue(Q, delayedKey, limit)
flushEvents()
local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
local nextDue = -1
if first[2] then nextDue = math.max(0, tonumber(first[2]) - Q.now) end
return { promoted, nextDue }

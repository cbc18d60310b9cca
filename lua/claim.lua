-- claim: hand up to `count` ready jobs to one consumer, within every rate limit, after promoting due
-- delayed jobs. Groups are served round-robin, one job per ready group per pass, and ungrouped jobs take
-- one turn per pass as one more member of the ring (all the rest of the batch when no group is ready).
-- Ungrouped jobs come lowest level first, and within a level the jobs a RateLimitError gave back (its front,
-- release.lua) before its stream; a group's jobs come lowest level first within the group.
-- KEYS: id meta delayed failed events ctl rate groups... streams...
-- ARGV: base group consumer count eventsMaxLen promoteLimit wait
--   wait: '<ms>', the ms the consumer waits for a handoff when nothing can start (its `count` slots
--   registered as waiters, handoff.lua; '0' for no handoff), then ':<registered>:<unread>:<from>' to end
--   the wait the last claim registered (the jobs handed to it after wake entry `from` come first:
--   waiters.lua)
-- Returns: {OK, n, Redis' time (ms: the jobs' processedOn), then per job: entry stream, then for an entry in
--           the fresh layout its four values (name data opts created), for one in the full layout its
--           fields as one array (entry.lua)}: the job comes straight from XREADGROUP, no hash is read or
--           written
--        | {EMPTY or PAUSED, ms until something may start (the next delayed job, the end of a rate
--           window or hold; PAUSED: the next delayed job alone, to promote it on time; -1: nothing
--           pending), last ctl entry id, last id of the consumer's wake stream when it registered as a
--           waiter ('' when not), last entry id of each level}:
--           the ids a worker blocks on with XREAD, so no add is missed; PAUSED also when the queue is at
--           its concurrency (queue-limits.lua): the worker waits on ctl, which a settle freeing a slot writes
--        | {NEEDS_INIT}: the queue was obliterated (or never initialised); run init, then claim again
-- Events: active (per job); failed, for a job whose hash cannot be used when it is promoted or admitted
--         (corrupt.lua: it is failed for good there)
-- Loops: at most promoteLimit promotions and 100 group wake-ups; passes until `count` jobs are claimed or a
--        pass claims nothing, each pass visiting each ready group once and reading each level at most
--        once; the caller's count is at most 1,000
--@include status
--@include keys
--@include numbers
--@include groups
--@include clock
--@include events
--@include claim-jobs
--@include waiters

local idKey, metaKey, delayedKey, failedKey, eventsKey, ctlKey, rateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local G = groupKeys(KEYS, 8)
local streams, levels = streamKeys(KEYS, 8 + GROUP_KEY_COUNT)
local base, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local count, maxLen, promoteLimit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local Q = { base = base, idKey = idKey, levels = levels, G = G, ctl = ctlKey, meta = metaKey, now = nowMs(), failed = failedKey,
  events = eventsKey, maxLen = maxLen }
readWait(Q, ARGV[7])
local reply = claimJobs(Q, delayedKey, rateKey, streams, group, consumer, count, promoteLimit)
if Q.claimed > 0 then redis.call('HINCRBY', metaKey, 'active', int(Q.claimed)) end
flushEvents()
return reply

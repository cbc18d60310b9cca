-- cancel: a person ends one unfinished job for good. A waiting, delayed or blocked job leaves where it waits; a
-- running one loses its delivery as recover-stalled takes one back (its entry is acknowledged), so its
-- worker's next lease extension reports it lost, which aborts its ctx.signal, and its late settle is refused
-- (settle.lua answers CANCELLED). The job becomes failed, not retried: reason 'cancelled' or 'cancelled:
-- <reason>', its hash marked `cxl`. Its dedupe key, if any, is released. Retention of the failed set is
-- left to the next fail call (a cancel does not know the job's removeOnFail without decoding its options).
-- KEYS: meta delayed failed events ctl groups... streams...
-- ARGV: base group id reason eventsMaxLen
-- Returns: {status, state, at}: OK with the state it ended from and Redis' time (its finishedOn) |
--   JOB_MISSING | WRONG_STATE (completed or failed: it ended already) | CORRUPT (its stored fields cannot be
--   used: nothing changed; remove it); state is the job's ('' when missing)
-- Events: cancelled (value: the reason); waiting, failed or removed for the jobs that waited for it
--   (dependents.lua); added (a batch's callback, when the job was its last member pending: batches.lua)
-- Wakes: with a ctl entry `slots`, for a running job, the workers a claim refused at the queue's concurrency
--   (queue-limits.lua)
-- Loops: one XRANGE per level at most (locate); a running job's acknowledgement trims its stream once; the
--   dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include numbers
--@include clock
--@include events
--@include settle
--@include record
--@include dedupe
--@include waiting
--@include dependents
--@include queue-limits
--@include labels
--@include batches

local metaKey, delayedKey, failedKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streams, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, group, id, reason, maxLen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local now = nowMs()
local Q = { base = base, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = now }
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return { STATUS.JOB_MISSING, '', 0 } end
if state ~= 'waiting' and state ~= 'delayed' and state ~= 'active' and state ~= 'blocked' then return { STATUS.WRONG_STATE, state, 0 } end
local j = jobAt(base, id, index, entry, fields)
if not j or jobProblem(j, #levels) then return { STATUS.CORRUPT, state, 0 } end

if state == 'active' then
  local acks = newAcks(group, streams)
  if acks.take(index, entry) then
    slotsFreed(metaKey, ctlKey, closeBatch(acks, metaKey, 1))
    endDelivery(Q, j.grp)
    -- The attempt it was running started and ends here.
    j.ats, j.atm = int(tonumber(j.ats) + 1), int(tonumber(j.atm) + 1)
    -- Workers that run jobs read this between two lease extensions (src/worker/cancel-watch.ts): a moved
    -- count makes them extend at once, and the extension's reply names the deliveries they lost.
    redis.call('HINCRBY', metaKey, 'cancels', 1)
  end
elseif state == 'delayed' then
  redis.call('ZREM', delayedKey, id)
elseif state == 'blocked' then
  -- Waiting for its dependencies (dependents.lua): it leaves the blocked set; its end is passed on below.
  redis.call('ZREM', blockedKey(base), id)
else
  takeWaiting(Q, streams, j, index, entry)
end

local text = 'cancelled'
if reason ~= '' then text = 'cancelled: ' .. reason end
j.err, j.stack = text, ''
local key = jobKey(base, id)
releaseDedupe(base, id)
moveLabelsIf(base, metaKey, id, 'q', 'f', int(now))
-- A locator's entry, a front place or a due time would be read as fields of this state.
redis.call('HDEL', key, 'entry', 'lvl', 'place', 'due')
local f = recordFields('failed', j)
putField(f, 'fon', int(now))
putField(f, 'cxl', '1')
redis.call('HSET', key, unpack(f))
redis.call('ZADD', failedKey, int(now), id)
countFinished(Q, 'failed', 1)
emit(eventsKey, maxLen, 'cancelled', id, reason)
-- A batch member failed for good (batches.lua).
local member = batchOf(j.opts)
if member then
  Q.idKey = Q.idKey or queueKeysOf(base).id
  moveBatch(Q, member, -1, 1, eventsKey, maxLen)
end
-- Failed for good: the jobs that wait for it learn it, as from any failure (dependents.lua).
if redis.call('SISMEMBER', linkedKey(base), id) == 1 then
  Q.idKey, Q.failed, Q.events, Q.maxLen = queueKeysOf(base).id, failedKey, eventsKey, maxLen
  LINKS.settle(Q, { { Q, id, 'f', text } })
end
flushEvents()
return { STATUS.OK, state, now }

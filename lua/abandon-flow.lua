-- abandon-flow: end a part of a flow across Redis Cluster slots that waited too long for the rest of its
-- flow (src/flows-relay.ts): its producer stopped before it wrote a later part, whose jobs the part's jobs
-- wait for, so they would wait forever. Each of them still blocked fails with `reason` (an onFailure job
-- becomes waiting instead, and one with policy 'remove' is removed: dependents.lua LINKS.abandoned), and the
-- jobs that wait for it learn that as any failure, by their policy. The part's record
-- becomes a tombstone for a day, so a 'd' note that comes after (a producer that resumed) is told it was
-- too late (deliver-notes.lua), and it throws FlowIncompleteError.
-- KEYS: meta
-- ARGV: base eventsMaxLen flow olderThan reason
--   flow = the flow's id; olderThan = how long (ms, Redis' time) the part must have waited, -1 = any
-- Returns: {OK, ended, noted}: how many jobs it ended so, and 1 when their dependents' cascade wrote notes to
--   this queue's outbox (relay them), else 0 | {NOT_DUE} (the part waited less than olderThan) |
--   {JOB_MISSING} (no such part: its flow was written whole, or it was abandoned already)
-- Events: failed for each job it fails; the dependents' (dependents.lua)
-- Loops: one pass over the part's jobs (at most 1,000: a flow's); the dependents' cascade (dependents.lua)
--@include status
--@include keys
--@include clock
--@include events
--@include dependents
local base, maxLen, fid, olderThan, reason = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = nowMs()
local since = redis.call('ZSCORE', flowsKey(base), fid)
if not since then return { STATUS.JOB_MISSING } end
if olderThan >= 0 and now - tonumber(since) < olderThan then return { STATUS.NOT_DUE } end
-- A producer that resumes finishes its flow within seconds; a day keeps the tombstone past any pause.
local TOMBSTONE_S = 86400
local record = flowKey(base, fid)
local jobs = redis.call('HGET', record, 'jobs') or ''
redis.call('DEL', record)
redis.call('HSET', record, 'abandoned', '1')
redis.call('EXPIRE', record, TOMBSTONE_S)
redis.call('ZREM', flowsKey(base), fid)
local C = LINKS.own(base, now, maxLen)
local ended, count, at = {}, 0, 1
while C and at <= #jobs do
  local id, nextAt = struct.unpack('>I4c0', jobs, at)
  at = nextAt
  if redis.call('HGET', jobKey(base, id), 'state') == 'blocked' then
    LINKS.abandoned(C, id, reason, ended)
    count = count + 1
  end
end
local noted = #ended > 0 and LINKS.settle(C, ended)
flushEvents()
return { STATUS.OK, count, noted and 1 or 0 }

-- deliver-notes: apply, in this queue's slot, notes that another queue's outbox holds for jobs of this queue
-- (a flow across Redis Cluster slots; src/flows-relay.ts sends them, then deletes them from the outbox).
-- An end goes through LINKS.ended (dependents.lua), which changes the dependent's deps field only while it
-- is 'w' (not ended yet): a note applied twice (its relay killed between this call and its XDEL, or two
-- relays at once) changes nothing the second time, so a dependent becomes waiting, fails or is removed
-- once, and an onFailure job becomes waiting once. A 'd' note ends the wait of a part of a flow for the
-- rest of it (add-flow.lua's `flow`); told twice (by the relay and by the producer), it finds nothing the
-- second time; told after a worker gave up on the part (abandon-flow.lua), it finds the tombstone.
-- KEYS: meta
-- ARGV: base eventsMaxLen notes
--   notes = per note, packed (packed.lua): kind ('e' an end, 'd' a flow written whole), job (the dependent's
--   id; for 'd' the flow's id), dep (the job that ended, '{queue}id'), outcome, value (dependents.lua's),
--   trace (the ended job's process span's context; '' for none)
-- Returns: {noted, lost}: noted = 1 when the jobs this ended wrote notes to this queue's outbox in turn (a
--   relay passes them on next), else 0; lost = the 'd' notes whose part a worker had failed already
--   (abandon-flow.lua). {0, 0} when the queue does not exist (obliterated): the notes are dropped
-- Events: waiting, failed or removed for the jobs the notes end, and the dependents' (dependents.lua)
-- Loops: one pass over the notes (src/flows-relay.ts sends at most 100); the dependents' cascade
--   (dependents.lua)
--@include keys
--@include clock
--@include events
--@include packed
--@include dependents
local base, maxLen, notes = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local C = LINKS.own(base, nowMs(), maxLen)
if not C then return { 0, 0 } end
local FORMAT = packedFormat(6)
local ended, lost, at = {}, 0, 1
while at <= #notes do
  local kind, job, dep, outcome, value, trace, nextAt = struct.unpack(FORMAT, notes, at)
  at = nextAt
  if kind == 'e' then
    if trace == '' then trace = nil end
    LINKS.ended(C, job, dep, outcome, value, ended, trace)
  elseif kind == 'd' then
    if redis.call('ZREM', flowsKey(base), job) == 1 then
      redis.call('DEL', flowKey(base, job))
    elseif redis.call('HEXISTS', flowKey(base, job), 'abandoned') == 1 then
      lost = lost + 1
    end
  end
end
local noted = #ended > 0 and LINKS.settle(C, ended)
flushEvents()
return { noted and 1 or 0, lost }

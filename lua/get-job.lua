-- get-job: one job by id, wherever it is: its hash for a job off the streams, its record in the done hash
-- for a completed one, its entry (and its hash's progress) for one that waits on a stream or runs.
-- KEYS: completed streams...
-- ARGV: base group id
-- Returns: {} (no such job) | {id, state, stream, entry, fields, progress}: stream -1, entry '' and fields
--   the hash's (field, value, ...) for a job in its hash; stream -2, entry = its finish time and fields =
--   its done record (done.lua) for a completed one; for one on a stream its index, entry id and the
--   entry's fields (entry.lua); progress false when none
-- Events: none
-- Loops: one XRANGE per level at most (a job without a hash is looked for on each level)
--@include keys
--@include locate
--@include view
local streams, levels = streamKeys(KEYS, 2)
local base, group, id = ARGV[1], ARGV[2], ARGV[3]
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return {} end
if state == 'completed' then return doneView(base, id, redis.call('ZSCORE', KEYS[1], id) or '0') or {} end
return jobView(base, id, state, index, entry, fields)

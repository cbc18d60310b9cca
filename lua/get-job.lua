-- get-job: one job by id, wherever it is: its hash for a job off the streams, its entry (and its hash's
-- progress) for one that waits on a stream or runs.
-- KEYS: streams...
-- ARGV: base group id
-- Returns: {} (no such job) | {id, state, stream, entry, fields, progress}: stream -1, entry '' and fields
--   the hash's (field, value, ...) for a job off the streams; for one on a stream its index, entry id and
--   the entry's fields (entry.lua), and progress (false when none)
-- Events: none
-- Loops: one XRANGE per level at most (a job without a hash is looked for on each level)
--@include keys
--@include locate
--@include view
local streams, levels = streamKeys(1)
local base, group, id = ARGV[1], ARGV[2], ARGV[3]
local state, index, entry, fields = locate(base, group, streams, levels, id)
if not state then return {} end
return jobView(base, id, state, index, entry, fields)

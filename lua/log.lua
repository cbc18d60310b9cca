-- log: append one line to a job's log, keeping the newest `keep` lines (0 = all).
-- KEYS: logs streams...
-- ARGV: base group id line keep
-- Returns: the number of lines kept | JOB_MISSING
-- Events: none
-- Loops: one XRANGE per level at most (locate)
--@include status
--@include keys
--@include locate
local logsKey = KEYS[1]
local streams, levels = streamKeys(KEYS, 2)
local base, group, id = ARGV[1], ARGV[2], ARGV[3]
if not locate(base, group, streams, levels, id) then return STATUS.JOB_MISSING end
local n = redis.call('RPUSH', logsKey, ARGV[4])
local keep = tonumber(ARGV[5])
if keep > 0 and n > keep then
  redis.call('LTRIM', logsKey, -keep, -1)
  n = keep
end
return n

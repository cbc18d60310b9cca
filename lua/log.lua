-- log: append one line to a job's log, keeping the newest `keep` lines (0 = all).
-- KEYS: job logs
-- ARGV: line keep
-- Returns: the number of lines kept | JOB_MISSING
-- Events: none
-- Loops: none
--@include status
if redis.call('EXISTS', KEYS[1]) == 0 then return STATUS.JOB_MISSING end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
local keep = tonumber(ARGV[2])
if keep > 0 and n > keep then
  redis.call('LTRIM', KEYS[2], -keep, -1)
  n = keep
end
return n

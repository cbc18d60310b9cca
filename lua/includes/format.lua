-- format: the storage format of a queue, recorded in its meta (`fmt`) with its number of levels. Format 3
-- keeps jobs in their stream entries (entry.lua) with the field names of job-fields.lua. A queue written by
-- an earlier sluice is refused rather than misread: format 2 named entry fields with one letter (n d o t
-- ...), format 1 (no field) kept every job in a hash. src/redis/store.ts STORAGE_FORMAT says the same.
--@include status
local FORMAT = 3

-- What init and check answer for a queue whose meta holds `recorded` levels, format `fmt` and partition
-- count `parts` (HMGET values, false when absent; no `parts` is 1: the queue is not partitioned), asked for
-- `levels` and `partitions`: nil when it exists and fits, NEEDS_INIT when it does not exist, else the
-- mismatch and what Redis recorded.
local function queueFit(recorded, fmt, parts, levels, partitions)
  if not recorded then return { STATUS.NEEDS_INIT } end
  if tonumber(fmt or '1') ~= FORMAT then return { STATUS.FORMAT_MISMATCH, tonumber(fmt or '1') } end
  if tonumber(recorded) ~= levels then return { STATUS.LEVELS_MISMATCH, tonumber(recorded) } end
  if tonumber(parts or '1') ~= partitions then return { STATUS.PARTITIONS_MISMATCH, tonumber(parts or '1') } end
  return nil
end

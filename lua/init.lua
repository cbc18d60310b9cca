-- init: create the queue's consumer group on every stream (each level's, and admit) and record the
-- number of levels, the storage format (format.lua) and, for a partitioned queue, its partition count
-- (every partition's meta records it). Idempotent; run once by each Queue and Worker before first use, and
-- after obliterate. Reads run check instead, which writes nothing.
-- KEYS: meta streams...
-- ARGV: group levels partitions
--   partitions is optional (absent is 1): producers in other languages that predate it leave it out.
-- Returns: {OK} | {LEVELS_MISMATCH, levels recorded in Redis} | {FORMAT_MISMATCH, format recorded in Redis}
--   | {PARTITIONS_MISMATCH, partition count recorded in Redis}
-- Events: none
-- Loops: one XGROUP CREATE per stream (at most 33)
--@include status
--@include keys
--@include format

local metaKey = KEYS[1]
local streams = streamKeys(KEYS, 2)
local group, levels, partitions = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3] or '1')

local meta = redis.call('HMGET', metaKey, 'levels', 'fmt', 'parts')
local recorded = meta[1]
local misfit = queueFit(recorded, meta[2], meta[3], levels, partitions)
if misfit and misfit[1] ~= STATUS.NEEDS_INIT then return misfit end
for _, key in ipairs(streams) do
  -- BUSYGROUP (the group exists) is the expected answer on every call but the first.
  pcall(redis.call, 'XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
end
if not recorded then
  redis.call('HSET', metaKey, 'levels', levels, 'active', 0, 'fmt', FORMAT)
  if partitions > 1 then redis.call('HSET', metaKey, 'parts', partitions) end
end
return { STATUS.OK }

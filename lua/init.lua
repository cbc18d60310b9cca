-- init: create the queue's consumer group on every stream (each level's, and admit) and record the
-- number of levels and the storage format (format.lua). Idempotent; run once by each Queue and Worker
-- before first use, and after obliterate. Reads run check instead, which writes nothing.
-- KEYS: meta streams...
-- ARGV: group levels
-- Returns: {OK} | {LEVELS_MISMATCH, levels recorded in Redis} | {FORMAT_MISMATCH, format recorded in Redis}
-- Events: none
-- Loops: one XGROUP CREATE per stream (at most 33)
--@include status
--@include keys
--@include format

local metaKey = KEYS[1]
local streams = streamKeys(KEYS, 2)
local group, levels = ARGV[1], tonumber(ARGV[2])

local meta = redis.call('HMGET', metaKey, 'levels', 'fmt')
local recorded = meta[1]
local misfit = queueFit(recorded, meta[2], levels)
if misfit and misfit[1] ~= STATUS.NEEDS_INIT then return misfit end
for _, key in ipairs(streams) do
  -- BUSYGROUP (the group exists) is the expected answer on every call but the first.
  pcall(redis.call, 'XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
end
if not recorded then redis.call('HSET', metaKey, 'levels', levels, 'active', 0, 'fmt', FORMAT) end
return { STATUS.OK }

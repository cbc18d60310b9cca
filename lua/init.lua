-- init: create the queue's consumer group on every stream (each level's, and admit) and record the
-- number of levels. Idempotent; run once by each Queue and Worker before first use, and after obliterate.
-- With create 0 it only checks a queue that exists and writes nothing: a Queue's reads must not create a
-- queue that is not there (one obliterated a moment ago, say).
-- KEYS: meta streams...
-- ARGV: group levels create
--   create: 1 creates the queue when it does not exist; 0 only checks
-- Returns: {OK} | {NEEDS_INIT} (create 0 and no such queue) | {LEVELS_MISMATCH, levels recorded in Redis}
--   | {FORMAT_MISMATCH, format recorded in Redis}
-- Events: none
-- Loops: one XGROUP CREATE per stream (at most 33)
--@include status
--@include keys

local metaKey = KEYS[1]
local streams = streamKeys(KEYS, 2)
local group, levels, create = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'

-- The storage format: 3 keeps jobs in their stream entries (entry.lua) with the field names of
-- job-fields.lua. A queue written by an earlier sluice is refused rather than misread: format 2 named entry
-- fields with one letter (n d o t ...), format 1 (no field) kept every job in a hash.
local FORMAT = 3
local meta = redis.call('HMGET', metaKey, 'levels', 'fmt')
local recorded = meta[1]
if recorded and tonumber(meta[2] or '1') ~= FORMAT then
  return { STATUS.FORMAT_MISMATCH, tonumber(meta[2] or '1') }
end
if recorded and tonumber(recorded) ~= levels then
  return { STATUS.LEVELS_MISMATCH, tonumber(recorded) }
end
if not create then
  if recorded then return { STATUS.OK } end
  return { STATUS.NEEDS_INIT }
end
for _, key in ipairs(streams) do
  -- BUSYGROUP (the group exists) is the expected answer on every call but the first.
  pcall(redis.call, 'XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
end
if not recorded then redis.call('HSET', metaKey, 'levels', levels, 'active', 0, 'fmt', FORMAT) end
return { STATUS.OK }

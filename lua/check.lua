-- check: whether a queue exists and fits (its levels and storage format, format.lua), writing nothing. A
-- Queue's reads run it instead of init: they must not create a queue that is not there (one obliterated
-- a moment ago, say). Flagged no-writes (src/redis/lua.ts), so a user whose ACL lets it read a queue's
-- keys only may run it.
-- KEYS: meta
-- ARGV: levels partitions
-- Returns: {OK} | {NEEDS_INIT} (no such queue) | {LEVELS_MISMATCH, levels recorded in Redis}
--   | {FORMAT_MISMATCH, format recorded in Redis} | {PARTITIONS_MISMATCH, partition count recorded in Redis}
-- Events: none
-- Loops: none
--@include status
--@include format

local meta = redis.call('HMGET', KEYS[1], 'levels', 'fmt', 'parts')
return queueFit(meta[1], meta[2], meta[3], tonumber(ARGV[1]), tonumber(ARGV[2])) or { STATUS.OK }

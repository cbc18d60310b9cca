-- packed: reading the per-job values a packed script gets in its last ARGV value (src/redis/scripts.ts
-- packJobs): each value a 4-byte big-endian length and its bytes, job after job. One ARGV value for a whole
-- batch instead of one per value: the client spends about 650 ns on each argument of a command, and Redis
-- reads a packed value for about what an ARGV value costs it (905 against 859 instructions, npm run
-- bench:lua-costs).

-- The struct.unpack format of one job of `n` values; each call returns the n values and where the next
-- job starts.
local function packedFormat(n) return '>' .. string.rep('I4c0', n) end

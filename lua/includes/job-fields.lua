-- job-fields: the one spelling of a job's fields. A job's stream entry, its hash and the parts of its
-- completed record name each field the same way, and a job in Lua is a table keyed by these names
-- (appendJob writes one; entryJob, recordJob and doneJob read one). src/redis/job-fields.ts holds the same
-- tables; test/unit/job-fields.test.ts checks that the two agree.
--
--   id      the job's id                     name   its name
--   data    msgpack, as the producer sent it opts   msgpack options ('' when all are defaults)
--   ts      created (ms)                     prio   priority level, 0 runs first
--   grp     group ('' or absent: none)       ats    attempts started      atm  attempts made
--   stalls  times taken back from a worker that stopped responding
--   ready   when its entry became ready (ms; entries only)
--   err, stack  the latest failed attempt's reason and stack (absent without one)
-- A hash adds its state's fields (record.lua): state, due, pon (processed on), fon (finished on),
-- progress, for a locator entry and lvl, and place: where a RateLimitError gives the job back (release.lua),
-- and for a job failed for good by (the consumer that ran it). A completed record also has pon, rv (its
-- result), progress and by.

-- The layouts, as tables: src/redis/job-fields.ts holds the same ones, and test/unit/job-fields.test.ts
-- compares the two and checks every place below and in the scripts that spells the names out. They are
-- returned by a function and not built at the top: a script runs its top level on every call, and these
-- tables (with a position table made from them) cost every claim call about 22,000 Redis instructions,
-- an empty claim 284,000 instead of 262,000 (callgrind).
local function jobFieldTables()
  return {
    -- A stream entry in the full layout: these, in this order, then err and stack after a failed attempt.
    FULL_FIELDS = { 'id', 'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'stalls', 'ready' },
    -- A stream entry in the fresh layout (a job added ready, with a generated id and no group): only these.
    FRESH_FIELDS = { 'name', 'data', 'opts', 'ts' },
    -- A completed record's parts, in order (done.lua); progress empty for none; older records end before it.
    RECORD_PARTS = { 'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'pon', 'rv', 'err', 'stack', 'progress', 'by' },
    -- Fields that hold a count or a time: decimal digits only (jobProblem checks them).
    COUNTERS = { 'ts', 'prio', 'ats', 'atm', 'stalls' },
  }
end

-- Where `ats` and `ready` sit in a full entry's flat field array (1-based, 2 x their place in FULL_FIELDS):
-- claim reads the attempt and metrics the ready time of many entries without building a table of each.
local FULL_ATS_AT, FULL_READY_AT = 16, 22

-- Whether a flat field array is exactly the fresh layout.
local function isFresh(fields)
  return #fields == 8 and fields[1] == 'name' and fields[3] == 'data' and fields[5] == 'opts' and fields[7] == 'ts'
end

-- What is wrong with job table `j` read from Redis, or nil when it may be written back: an id, string
-- name, data and opts, counts in COUNTERS, a priority below `levels`, a string group when any. A script
-- checks before it writes: Redis does not roll back a script that fails half way. Written out rather than
-- looped over tables, for the reason jobFieldTables gives.
local function jobProblem(j, levels)
  -- A count as written by sluice: 1 to 15 decimal digits (exact in a double). Defined here, on the rare
  -- path, rather than at the top: see jobFieldTables.
  local function countProblem(name)
    local value = j[name]
    if type(value) == 'string' and #value <= 15 and string.match(value, '^%d+$') then return nil end
    if type(value) ~= 'string' then return "field '" .. name .. "' is missing" end
    return "field '" .. name .. "' is \"" .. string.sub(value, 1, 40) .. '", not a count'
  end
  if type(j.id) ~= 'string' or j.id == '' then return 'it has no id' end
  if type(j.name) ~= 'string' then return "field 'name' is missing" end
  if type(j.data) ~= 'string' then return "field 'data' is missing" end
  if type(j.opts) ~= 'string' then return "field 'opts' is missing" end
  -- COUNTERS, in its order.
  local problem = countProblem('ts') or countProblem('prio') or countProblem('ats') or countProblem('atm')
    or countProblem('stalls')
  if problem then return problem end
  if tonumber(j.prio) >= levels then return "field 'prio' is " .. j.prio .. ', not a priority level of this queue (0 to ' .. (levels - 1) .. ')' end
  if j.grp ~= nil and type(j.grp) ~= 'string' then return "field 'grp' is not a string" end
  return nil
end

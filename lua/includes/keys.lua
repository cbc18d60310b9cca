-- keys: per-job, per-group, per-level and per-batch key names, the completed jobs' hash and the batches'
-- index. Mirrors src/keys.ts (JOB, LOGS, GROUP, DONE, FRONT, BATCH, BATCHES); test/unit/keys.test.ts checks
-- they agree.
local function jobKey(base, id) return base .. 'job:' .. id end
local function doneKey(base) return base .. 'done' end
local function logsKey(base, id) return base .. 'logs:' .. id end
local function groupWaitKey(base, g) return base .. 'group:' .. g .. ':wait' end
local function groupRateKey(base, g) return base .. 'group:' .. g .. ':rate' end
-- Level `level`'s front: released jobs (RateLimitError) that go before the level's stream (release.lua).
local function frontKey(base, level) return base .. 'front:' .. level end
-- A batch's counters (batches.lua), and the index of the queue's batches (obliterate deletes through it).
local function batchKey(base, id) return base .. 'batch:' .. id end
local function batchesKey(base) return base .. 'batches' end

-- Streams are the trailing KEYS of every script that takes them: the level streams, level 0 first, then
-- the admit stream (grouped deliveries). Returns all of them, and the level streams alone. KEYS is passed
-- in: as a function of the library (src/redis/library.ts) a script has no global KEYS.
local function streamKeys(KEYS, first)
  local all, levels = {}, {}
  for i = first, #KEYS do all[#all + 1] = KEYS[i] end
  for i = 1, #all - 1 do levels[i] = all[i] end
  return all, levels
end

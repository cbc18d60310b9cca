-- keys: per-job, per-group and per-level key names, the completed jobs' hash and the per-minute history.
-- Mirrors src/keys.ts (JOB, LOGS, GROUP, DONE, FRONT, HISTORY, DEDUPE, LABELS); test/unit/keys.test.ts checks they agree.
local function jobKey(base, id) return base .. 'job:' .. id end
local function doneKey(base) return base .. 'done' end
-- Completed and failed per minute (history.lua): the minutes before the current one, and the current one.
local function historyKey(base) return base .. 'history' end
local function historyNowKey(base) return base .. 'history:now' end
local function logsKey(base, id) return base .. 'logs:' .. id end
local function groupWaitKey(base, g) return base .. 'group:' .. g .. ':wait' end
local function groupRateKey(base, g) return base .. 'group:' .. g .. ':rate' end
-- Level `level`'s front: released jobs (RateLimitError) that go before the level's stream (release.lua).
local function frontKey(base, level) return base .. 'front:' .. level end
-- Dedupe locks (dedupe.lua): dedupe key -> '<until>:<job id>'; and the windows' ends, dedupe key -> until (ms).
local function dedupeKey(base) return base .. 'dedupe' end
local function dedupeWindowsKey(base) return base .. 'dedupe:windows' end
-- The label index (labels.lua): label -> jobs that carry it; job id -> its labels; a label's jobs per phase
-- ('q' unfinished, 'c' completed, 'f' failed).
local function labelsKey(base) return base .. 'labels' end
local function labelsOfKey(base) return base .. 'labels:of' end
local function labelKey(base, label, phase) return base .. 'label:' .. label .. ':' .. phase end

-- Streams are the trailing KEYS of every script that takes them: the level streams, level 0 first, then
-- the admit stream (grouped deliveries). Returns all of them, and the level streams alone. KEYS is passed
-- in: as a function of the library (src/redis/library.ts) a script has no global KEYS.
local function streamKeys(KEYS, first)
  local all, levels = {}, {}
  for i = first, #KEYS do all[#all + 1] = KEYS[i] end
  for i = 1, #all - 1 do levels[i] = all[i] end
  return all, levels
end

-- keys: per-job, per-group and per-level key names, the completed jobs' hash, the per-minute history, the
-- dedupe keys, the flows' keys, the worker registry, the label index and the batches' keys. Mirrors
-- src/keys.ts (JOB, LOGS, GROUP, DONE, FRONT, HISTORY, DEDUPE, DEDUPE_WINDOWS, DEPS, DEPENDENTS, BLOCKED,
-- LINKED, OUTBOX, FLOWS, FLOW, WORKERS, WORKER_INFO, LABELS, LABELS_OF, LABEL, BATCH, BATCHES, SHARES_TURN,
-- WAITERS, WAKE);
-- test/unit/keys.test.ts checks they agree.
local function jobKey(base, id) return base .. 'job:' .. id end
local function doneKey(base) return base .. 'done' end
-- Completed and failed per minute (history.lua): the minutes before the current one, and the current one.
local function historyKey(base) return base .. 'history' end
local function historyNowKey(base) return base .. 'history:now' end
local function logsKey(base, id) return base .. 'logs:' .. id end
local function groupWaitKey(base, g) return base .. 'group:' .. g .. ':wait' end
local function groupRateKey(base, g) return base .. 'group:' .. g .. ':rate' end
-- A group's smooth limit: its theoretical arrival time (queue-limits.lua).
local function groupTatKey(base, g) return base .. 'group:' .. g .. ':tat' end
-- Level `level`'s front: released jobs (RateLimitError) that go before the level's stream (release.lua).
local function frontKey(base, level) return base .. 'front:' .. level end
-- A batch's counters (batches.lua), and the index of the queue's batches (obliterate deletes through it).
local function batchKey(base, id) return base .. 'batch:' .. id end
local function batchesKey(base) return base .. 'batches' end
-- Which Worker moves a partitioned queue's limit shares (rebalance-turn.lua; partition 0's).
local function sharesTurnKey(base) return base .. 'shares:turn' end
-- The handoff (handoff.lua): idle workers' slots waiting for a job, and the jobs handed to each.
local function waitersKey(base) return base .. 'waiters' end
local function wakeKey(base, consumer) return base .. 'wake:' .. consumer end
-- The worker registry (src/worker/heartbeat.ts): who is alive until when, and what each said of itself.
local function workersKey(base) return base .. 'workers' end
local function workerInfoKey(base) return base .. 'workers:info' end
-- Dedupe locks (dedupe.lua): dedupe key -> '<until>:<job id>'; and the windows' ends, dedupe key -> until (ms).
local function dedupeKey(base) return base .. 'dedupe' end
local function dedupeWindowsKey(base) return base .. 'dedupe:windows' end
-- The label index (labels.lua): label -> jobs that carry it; job id -> its labels; a label's jobs per phase
-- ('q' unfinished, 'c' completed, 'f' failed).
local function labelsKey(base) return base .. 'labels' end
local function labelsOfKey(base) return base .. 'labels:of' end
local function labelKey(base, label, phase) return base .. 'label:' .. label .. ':' .. phase end

-- Flows (dependents.lua): a job's dependencies' outcomes (hash, dependency id -> its state, key and value),
-- the jobs waiting on a job (set), the blocked jobs (sorted set, by when they were added) and the jobs
-- that have dependencies or dependents and have not finished (set; meta `linked` is its size).
local function depsKey(base, id) return base .. 'deps:' .. id end
local function dependentsKey(base, id) return base .. 'dependents:' .. id end
local function blockedKey(base) return base .. 'blocked' end
local function linkedKey(base) return base .. 'linked' end
-- Flows across Cluster slots (dependents.lua, add-flow.lua): the notes of ends for jobs of other queues
-- (stream), the parts of flows waiting for the rest of their flow (sorted set, flow id -> when written) and
-- each such part (hash: `last`, `jobs`).
local function outboxKey(base) return base .. 'outbox' end
local function flowsKey(base) return base .. 'flows' end
local function flowKey(base, id) return base .. 'flow:' .. id end

-- Another queue of the same prefix, for a flow across queues (dependents.lua): its base, and the names of
-- its level streams, admit stream and group keys as src/keys.ts builds them (test/unit/keys.test.ts).
local function otherBase(base, name, other) return string.sub(base, 1, #base - #name - 3) .. '{' .. other .. '}:' end
local function levelKey(base, level) return base .. 'wait:' .. level end
local function admitKey(base) return base .. 'admit' end
local function rateKeyOf(base) return base .. 'rate' end
-- The consumer group of every stream of a queue (src/redis/store.ts GROUP): scripts that claim take it
-- as an argument; add's handoff (handoff.lua), which a producer in another language also runs, has it here.
local CONSUMER_GROUP = 'sluice'
local function queueKeysOf(base)
  return { id = base .. 'id', meta = base .. 'meta', ctl = base .. 'ctl', failed = base .. 'failed', events = base .. 'events' }
end
local function groupKeysOf(base)
  local g = base .. 'groups:'
  return { ready = g .. 'ready', state = g .. 'state', throttled = g .. 'throttled', full = g .. 'full', active = g .. 'active',
    limits = g .. 'limits', hold = g .. 'hold' }
end

-- The queue's guard (src/keys.ts guardKey), `base .. 'guard'`: never written or read. On a Redis Cluster
-- sluice names it as the last key of every call, so that Redis refuses the whole script while the slot is
-- being migrated; it is not one of the script's keys.
local GUARD_SUFFIX = ':guard'
local function isGuard(key) return string.sub(key, -#GUARD_SUFFIX) == GUARD_SUFFIX end

-- Streams are the trailing KEYS of every script that takes them (the guard, when there is one, after
-- them): the level streams, level 0 first, then the admit stream (grouped deliveries). Returns all of
-- them, and the level streams alone. KEYS is passed in: as a function of the library
-- (src/redis/lua.ts loadLibrary) a script has no global KEYS.
local function streamKeys(KEYS, first)
  local all, levels = {}, {}
  local last = #KEYS
  if isGuard(KEYS[last]) then last = last - 1 end
  for i = first, last do all[#all + 1] = KEYS[i] end
  for i = 1, #all - 1 do levels[i] = all[i] end
  return all, levels
end

-- events: lifecycle events, gathered while a script runs and appended to the capped events stream as ONE
-- entry per script call. One XADD per call instead of one per job and event: a claim of 64 jobs writes 1
-- entry, not 64. maxLen 0 switches events off.
--
-- The entry's pairs are groups: a pair ('', type) starts a group of one event type, and each pair after it
-- is one event of that type, (job id, value): the name for added, the attempt for active, the result for
-- completed, the reason for failed, '<delay>:<reason>' for retrying, the delay for rate-limited, the
-- progress for progress, the key for deduplicated, the due time (ms) for debounced and rescheduled, the
-- level for priority, the reason given for cancelled, '' for the rest (updated, promoted, ...). paused and resumed are a group with no pairs. Job ids are never
-- empty (options.ts), so '' cannot be mistaken for one. Two values per job instead of six ('ev', type,
-- 'id', id, and the value's name and value): the events of an add + process run took 25,000 Redis
-- instructions per job in that form (callgrind, 10,000 jobs). src/redis/event-reader.ts reads them.
-- Every script that emits must call flushEvents() before it returns (test/unit/scripts.test.ts checks).
--@include numbers
local EVENTS = { key = false, maxLen = 0, fields = {}, n = 0, count = 0, kind = false }

local function flushEvents()
  if EVENTS.count == 0 then return end
  -- The stream is capped in entries; an entry holds `count` events, so cap at maxLen / count entries to
  -- keep about maxLen events. MAXLEN ~ only trims whole macro nodes (100 entries each by default), which
  -- for a small cap would keep up to 100 batches; below 1,000 entries trim exactly, which is cheap there.
  local cap = math.max(1, math.floor(EVENTS.maxLen / EVENTS.count))
  if cap >= 1000 then
    redis.call('XADD', EVENTS.key, 'MAXLEN', '~', int(cap), '*', unpack(EVENTS.fields, 1, EVENTS.n))
  else
    redis.call('XADD', EVENTS.key, 'MAXLEN', int(cap), '*', unpack(EVENTS.fields, 1, EVENTS.n))
  end
  EVENTS.fields, EVENTS.n, EVENTS.count, EVENTS.kind = {}, 0, 0, false
end

-- Forgets events gathered and not flushed. An EVAL script begins with none; a library function
-- (src/redis/lua.ts) shares EVENTS with the calls before it, and one that failed after emit() would
-- leave its events for the next call, so every function calls this first.
local function clearEvents()
  if EVENTS.n ~= 0 then EVENTS.fields, EVENTS.n, EVENTS.count, EVENTS.kind = {}, 0, 0, false end
end

-- One event of type `kind`; `id` and `value` (a string) for a job's event, neither for paused and resumed.
local function emit(eventsKey, maxLen, kind, id, value)
  if maxLen <= 0 then return end
  EVENTS.key, EVENTS.maxLen = eventsKey, maxLen
  local fields, n = EVENTS.fields, EVENTS.n
  if EVENTS.kind ~= kind or not id then
    fields[n + 1], fields[n + 2] = '', kind
    n = n + 2
    EVENTS.kind = kind
  end
  if id then
    fields[n + 1], fields[n + 2] = id, value
    n = n + 2
  end
  EVENTS.n, EVENTS.count = n, EVENTS.count + 1
  -- unpack() in Redis' Lua takes at most ~8,000 values: flush before a batch gets near that.
  if n >= 6000 then flushEvents() end
end

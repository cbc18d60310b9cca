-- events: lifecycle events, gathered while a script runs and appended to the capped events stream as ONE
-- entry per script call (fields: ev <type> id <job> ..., then the next ev ...). One XADD per call instead
-- of one per job and event: a claim of 64 jobs writes 1 entry, not 64. maxLen 0 switches events off.
-- Every script that emits must call flushEvents() before it returns (test/unit/scripts.test.ts checks).
local EVENTS = { key = false, maxLen = 0, fields = {}, count = 0 }

local function flushEvents()
  if EVENTS.count == 0 then return end
  -- The stream is capped in entries; an entry holds `count` events, so cap at maxLen / count entries to
  -- keep about maxLen events. MAXLEN ~ only trims whole macro nodes (100 entries each by default), which
  -- for a small cap would keep up to 100 batches; below 1,000 entries trim exactly, which is cheap there.
  local cap = math.max(1, math.floor(EVENTS.maxLen / EVENTS.count))
  if cap >= 1000 then
    redis.call('XADD', EVENTS.key, 'MAXLEN', '~', cap, '*', unpack(EVENTS.fields))
  else
    redis.call('XADD', EVENTS.key, 'MAXLEN', cap, '*', unpack(EVENTS.fields))
  end
  EVENTS.fields, EVENTS.count = {}, 0
end

local function emit(eventsKey, maxLen, ...)
  if maxLen <= 0 then return end
  EVENTS.key, EVENTS.maxLen = eventsKey, maxLen
  local fields = EVENTS.fields
  for i = 1, select('#', ...) do fields[#fields + 1] = select(i, ...) end
  EVENTS.count = EVENTS.count + 1
  -- unpack() in Redis' Lua takes at most ~8,000 values: flush before a batch gets near that.
  if #fields >= 6000 then flushEvents() end
end

-- events: lifecycle events, gathered while a script runs and appended to the capped events stream as ONE
-- entry per script call (fields: ev <type> id <job> ..., then the next ev ...). One XADD per call instead
-- of one per job and event: a claim of 64 jobs writes 1 entry, not 64. maxLen 0 switches events off.
-- Every script that emits must call flushEvents() before it returns (test/unit/scripts.test.ts checks).
local EVENTS = { key = false, maxLen = 0, fields = {}, n = 0, count = 0 }

local function flushEvents()
  if EVENTS.count == 0 then return end
  -- The stream is capped in entries; an entry holds `count` events, so cap at maxLen / count entries to
  -- keep about maxLen events. MAXLEN ~ only trims whole macro nodes (100 entries each by default), which
  -- for a small cap would keep up to 100 batches; below 1,000 entries trim exactly, which is cheap there.
  local cap = math.max(1, math.floor(EVENTS.maxLen / EVENTS.count))
  if cap >= 1000 then
    redis.call('XADD', EVENTS.key, 'MAXLEN', '~', cap, '*', unpack(EVENTS.fields, 1, EVENTS.n))
  else
    redis.call('XADD', EVENTS.key, 'MAXLEN', cap, '*', unpack(EVENTS.fields, 1, EVENTS.n))
  end
  EVENTS.fields, EVENTS.n, EVENTS.count = {}, 0, 0
end

-- One event: 'ev' and its type, then at most three field pairs ('id' and the job, ...). Fixed parameters
-- rather than varargs: a select() loop over `...` made events 14% of all Redis instructions of an add +
-- process run (callgrind, 10,000 jobs), most of it in the Lua VM; fixed ones cut that by a third.
local function emit(eventsKey, maxLen, a, b, c, d, e, f, g, h)
  if maxLen <= 0 then return end
  EVENTS.key, EVENTS.maxLen = eventsKey, maxLen
  local fields, n = EVENTS.fields, EVENTS.n
  fields[n + 1], fields[n + 2] = a, b
  n = n + 2
  if c ~= nil then
    fields[n + 1], fields[n + 2] = c, d
    n = n + 2
    if e ~= nil then
      fields[n + 1], fields[n + 2] = e, f
      n = n + 2
      if g ~= nil then
        fields[n + 1], fields[n + 2] = g, h
        n = n + 2
      end
    end
  end
  EVENTS.n, EVENTS.count = n, EVENTS.count + 1
  -- unpack() in Redis' Lua takes at most ~8,000 values: flush before a batch gets near that.
  if n >= 6000 then flushEvents() end
end

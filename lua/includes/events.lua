-- events: append one lifecycle event to the capped events stream; maxLen 0 switches events off.
-- MAXLEN ~ trims whole macro nodes, which costs far less than exact trimming.
local function emit(eventsKey, maxLen, ...)
  if maxLen > 0 then
    redis.call('XADD', eventsKey, 'MAXLEN', '~', maxLen, '*', ...)
  end
end

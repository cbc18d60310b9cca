-- schedule: put a job in the delayed set. When it becomes the earliest due job, write to ctl: blocked
-- workers sleep until the earliest due time they were told, and this job is due sooner than that.
-- Costs one ZRANGE per delayed job, and one XADD only when the earliest due time moves forward.
--@include numbers
local function schedule(delayedKey, ctlKey, id, due)
  local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  redis.call('ZADD', delayedKey, int(due), id)
  if not first[2] or due < tonumber(first[2]) then
    redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'due', int(due))
  end
end

-- promote: move delayed jobs whose due time has come onto their level's stream, oldest due first.
-- Bounded by `limit` per call; the caller returns the time of the next due job so workers wake for it.
--@include requeue
local function promoteDue(delayedKey, base, waits, now, limit)
  local ids = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, limit)
  if #ids == 0 then return 0 end
  for _, id in ipairs(ids) do
    local prio = redis.call('HGET', jobKey(base, id), 'prio')
    if prio then requeue(base, waits, id, tonumber(prio)) end
  end
  redis.call('ZREM', delayedKey, unpack(ids))
  return #ids
end

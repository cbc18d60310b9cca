-- requeue: put an existing job back on its level's stream as waiting, with a new entry (a new delivery
-- token). Extra fields (pairs) are written in the same HSET.
--@include keys
local function requeue(base, waits, id, prio, ...)
  local entry = redis.call('XADD', waits[prio + 1], '*', 'id', id)
  redis.call('HSET', jobKey(base, id), 'state', 'waiting', 'entry', entry, ...)
  return entry
end

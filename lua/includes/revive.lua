-- revive: send a finished job (failed or completed) back to waiting with a fresh set of attempts.
--@include status
--@include keys
--@include events
--@include requeue
local function revive(base, waits, setKey, eventsKey, maxLen, id)
  local key = jobKey(base, id)
  local prio = redis.call('HGET', key, 'prio')
  redis.call('ZREM', setKey, id)
  if not prio then return STATUS.JOB_MISSING end
  -- A fresh start: attempts, stalls, timings, progress and the last outcome all reset.
  redis.call('HDEL', key, 'fon', 'pon', 'rv', 'err', 'stack', 'due', 'progress')
  requeue(base, waits, id, tonumber(prio), 'ats', 0, 'atm', 0, 'stalls', 0)
  emit(eventsKey, maxLen, 'ev', 'waiting', 'id', id)
  return STATUS.OK
end

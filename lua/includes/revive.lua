-- revive: send a finished job (failed or completed) back to waiting with a fresh set of attempts.
--@include status
--@include events
--@include enqueue
local function revive(Q, setKey, eventsKey, maxLen, id)
  local key = jobKey(Q.base, id)
  local job = redis.call('HMGET', key, 'prio', 'grp')
  redis.call('ZREM', setKey, id)
  if not job[1] then return STATUS.JOB_MISSING end
  -- A fresh start: attempts, stalls, timings, progress and the last outcome all reset.
  redis.call('HDEL', key, 'fon', 'pon', 'rv', 'err', 'stack', 'due', 'progress')
  enqueue(Q, id, tonumber(job[1]), job[2], 'ats', 0, 'atm', 0, 'stalls', 0)
  emit(eventsKey, maxLen, 'ev', 'waiting', 'id', id)
  return STATUS.OK
end

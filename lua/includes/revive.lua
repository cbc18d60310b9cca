-- revive: send a finished job (failed or completed) back to waiting with a fresh set of attempts. A failed
-- job is read from its hash, a completed one from its record in the done hash (done.lua). A job whose
-- stored fields cannot be used stays where it is (CORRUPT): remove it.
--@include status
--@include events
--@include enqueue
--@include done
--@include labels
--@include batches
local function revive(Q, setKey, eventsKey, maxLen, id, completed)
  local j
  if completed then j = doneJob(Q.base, id) else j = recordJob(Q.base, id) end
  if not j then
    redis.call('ZREM', setKey, id)
    return STATUS.JOB_MISSING
  end
  -- A fresh start: attempts, stalls, timings, progress and the last outcome all reset.
  j.ats, j.atm, j.stalls, j.err, j.stack = '0', '0', '0', nil, nil
  if jobProblem(j, #Q.levels) then return STATUS.CORRUPT end
  redis.call('ZREM', setKey, id)
  if completed then redis.call('HDEL', doneKey(Q.base), id) end
  moveLabelsIf(Q.base, Q.meta, id, completed and 'c' or 'f', 'q', int(Q.now), Q)
  redis.call('HDEL', jobKey(Q.base, id), 'fon', 'pon', 'rv', 'err', 'stack', 'due', 'progress', 'cxl', 'by')
  enqueue(Q, j, false)
  -- A member counts as pending again in its batch (batches.lua).
  batchMemberRevived(Q, j.opts, not completed)
  emit(eventsKey, maxLen, 'waiting', id, '')
  return STATUS.OK
end

-- corrupt: a job whose stored fields cannot be used (written by hand, or by a buggy client) is failed for
-- good by the script that finds it, instead of making that script error: Redis does not roll back a script
-- that errors half way, and an error in claim or recover-stalled would strand every job of the call and
-- recur on every later call. It costs that one job; the others of the call go on. The job is rewritten as
-- a valid failed job (what could not be read becomes empty or 0) whose reason names what was wrong, so it
-- can be looked at, retried or removed like any failed job.
-- Q is the script's context: base, meta, failed (the failed set), events, maxLen, now, and what enqueue
-- takes (a batch member failed here may be its batch's last: batches.lua).
--@include keys
--@include numbers
--@include events
--@include record
--@include history
--@include labels
--@include batches

local function failCorrupt(Q, j, problem)
  -- Worded as the worker words the jobs it cannot read (Job.fromStored).
  local reason = "job '" .. j.id .. "' cannot be read: " .. problem .. '; the job was failed without running'
  local function text(value)
    if type(value) == 'string' then return value end
    return ''
  end
  -- A count as jobProblem's countProblem accepts one (job-fields.lua), else 0.
  local function count(value)
    if type(value) == 'string' and #value <= 15 and string.match(value, '^%d+$') then return value end
    return '0'
  end
  local clean = { id = j.id, name = text(j.name), data = text(j.data), opts = text(j.opts), ts = count(j.ts), prio = count(j.prio),
    grp = text(j.grp), ats = count(j.ats), atm = count(j.atm), stalls = count(j.stalls), err = reason, stack = '' }
  if Q.levels and tonumber(clean.prio) >= #Q.levels then clean.prio = '0' end
  local now = int(Q.now)
  local key = jobKey(Q.base, j.id)
  local f = recordFields('failed', clean)
  putField(f, 'fon', now)
  -- Stray fields of the corrupt hash (a due time, a locator's entry) would be read as this state's.
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(f))
  redis.call('ZADD', Q.failed, now, j.id)
  redis.call('HINCRBY', Q.meta, 'failed', 1)
  countMinute(Q.base, Q.now, 'failed', 1)
  -- An unfinished job becomes failed: its label entries follow (behind the gate, on this rare path).
  moveLabelsIf(Q.base, Q.meta, j.id, 'q', 'f', now, Q)
  emit(Q.events, Q.maxLen, 'failed', j.id, reason)
  batchMemberFailed(Q, clean.opts)
end

-- schedule: put jobs in the delayed set, a script call's worth at once: one ZADD for the batch, and one ZRANGE
-- to learn whether the batch holds a new earliest due time, which then goes to ctl in one XADD (blocked
-- workers sleep until the earliest due time they were told, and this job is due sooner). A ZRANGE and a
-- ZADD per delayed job made a bulk of delayed jobs slower to write, and every claim waits behind it (the
-- first jobs of a bulk are the latest to start: docs/benchmarks.md, delayed jobs).
--@include numbers
local function newSchedule(delayedKey, ctlKey)
  local members, earliest = {}, false
  local batch = {}
  function batch.add(id, due)
    local n = #members
    members[n + 1], members[n + 2] = int(due), id
    if not earliest or due < earliest then earliest = due end
  end
  function batch.flush()
    if not earliest then return end
    local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
    redis.call('ZADD', delayedKey, unpack(members))
    if not first[2] or earliest < tonumber(first[2]) then
      redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'due', int(earliest))
    end
    members, earliest = {}, false
  end
  return batch
end

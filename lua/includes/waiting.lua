-- waiting: one job read by id, and a waiting job taken out of where it waits, for the scripts that change or
-- end one job (update-data, change-priority, change-delay, cancel, add-deduped's debounce). A waiting job is
-- in one of three places (locate.lua): an entry on a level stream, its group's waiting set (its hash, state
-- 'waiting', with grp), or its level's front (its hash, state 'waiting', no grp: a RateLimitError gave it
-- back, release.lua).
--@include keys
--@include numbers
--@include entry
--@include record

-- Job `id` as the table appendJob takes, from what locate returned (an entry's index, id and fields for a
-- job on a stream; else its hash), or nil when it has no hash. Check it with jobProblem before writing it.
local function jobAt(base, id, index, entry, fields)
  if index then return entryJob(entry, fields, index) end
  return recordJob(base, id)
end

-- Takes waiting job `j` out of where it waits (`index` and `entry`: its stream entry, from locate); the
-- caller writes where it goes. Counts stay exact: a stream's waiting count is derived from its length (the
-- entry was never delivered, so no acked counter holds it), groups and fronts have meta gwaiting and front.
local function takeWaiting(Q, streams, j, index, entry)
  if index then
    redis.call('XDEL', streams[index + 1], entry)
  elseif j.grp ~= '' then
    if redis.call('ZREM', groupWaitKey(Q.base, j.grp), j.id) == 1 then redis.call('HINCRBY', Q.meta, 'gwaiting', -1) end
  elseif redis.call('ZREM', frontKey(Q.base, j.prio), j.id) == 1 then
    redis.call('HINCRBY', Q.meta, 'front', -1)
  end
end

-- Job `j` becomes delayed until `due` (ms): its hash holds it, and it joins the schedule batch `delayed`
-- (schedule.lua), which the caller flushes. Progress and a dedupe key stay in the hash.
local function makeDelayed(Q, delayed, j, due)
  local key = jobKey(Q.base, j.id)
  -- A locator's entry or a front place would be read as fields of this state.
  redis.call('HDEL', key, 'entry', 'lvl', 'place')
  local f = recordFields('delayed', j)
  putField(f, 'due', int(due))
  redis.call('HSET', key, unpack(f))
  delayed.add(j.id, due)
end

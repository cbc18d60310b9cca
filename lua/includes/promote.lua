-- promote: move delayed jobs whose due time has come to waiting (their level's stream, or their group),
-- oldest due first. Bounded by `limit` per call; claim returns the time of the next due job so workers
-- wake for it. A job whose hash cannot be used is failed for good instead (corrupt.lua).
-- Q as enqueue takes it, plus failed, events and maxLen for failCorrupt.
--@include numbers
--@include enqueue
--@include corrupt
local function promoteDue(Q, delayedKey, limit)
  local ids = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', int(Q.now), 'LIMIT', '0', int(limit))
  if #ids == 0 then return 0 end
  for _, id in ipairs(ids) do
    local j = recordJob(Q.base, id)
    if j then
      local problem = jobProblem(j, #Q.levels)
      if problem then failCorrupt(Q, j, problem) else enqueue(Q, j, true) end
    end
  end
  redis.call('ZREM', delayedKey, unpack(ids))
  return #ids
end

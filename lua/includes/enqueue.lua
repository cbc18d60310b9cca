-- enqueue: make an existing job waiting: ungrouped jobs get a new entry on their level's stream (a new
-- delivery token), grouped jobs go back to their group's waiting set. Extra fields (pairs) go in the
-- same HSET. Q is the script's context: base, levels (level streams), G (group keys), ctl, meta, now.
--@include keys
--@include groups
local function enqueue(Q, id, prio, g, ...)
  if g and g ~= '' then
    enqueueGrouped(Q, id, prio, g)
    redis.call('HSET', jobKey(Q.base, id), 'state', 'waiting', ...)
    return
  end
  local entry = redis.call('XADD', Q.levels[prio + 1], '*', 'id', id)
  redis.call('HSET', jobKey(Q.base, id), 'state', 'waiting', 'entry', entry, ...)
end

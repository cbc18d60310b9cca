-- enqueue: make job `j` (the table appendJob takes) waiting. An ungrouped job gets a new entry in the full
-- layout on its level's stream (a new delivery token) and its hash becomes the entry's locator; a grouped
-- job waits in its group's set with its hash holding it (state 'waiting'). `recorded`: the hash already
-- holds every field of `j`, so a grouped job's needs only its state changed.
-- Q is the script's context: base, idKey, levels (level streams), G (group keys), ctl, meta, now.
--@include keys
--@include groups
--@include entry
--@include record
local function enqueue(Q, j, recorded)
  if j.grp and j.grp ~= '' then
    if recorded then
      redis.call('HSET', jobKey(Q.base, j.id), 'state', 'waiting')
    else
      redis.call('HSET', jobKey(Q.base, j.id), unpack(recordFields('waiting', j)))
    end
    enqueueGrouped(Q, j.id, tonumber(j.prio), j.grp)
    return
  end
  local entry = nextEntryId(Q.idKey)
  appendJob(Q.levels[tonumber(j.prio) + 1], entry, j, int(Q.now))
  markQueued(Q.base, j.id, entry, j.prio)
end

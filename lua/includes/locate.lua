-- locate: where one job is and what state it is in: its hash says so for a job off the streams, and points
-- at the entry of a job on one (state 'queued'); a job with no hash was added fresh, and its entry is
-- "<id>-0" on one of the level streams (entry.lua). For the scripts that act on one job by id.
--@include keys
--@include xinfo

-- Whether stream id a ('ms-seq') is above b.
local function idAbove(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, bm = tonumber(am), tonumber(bm)
  return am > bm or (am == bm and tonumber(as) > tonumber(bs))
end

-- 'active' while the entry is delivered and not settled, 'waiting' while it was never delivered, nil once
-- it was settled (an acknowledged entry stays in the stream until a trim reaches it).
local function entryState(key, group, entry)
  if redis.call('XPENDING', key, group, entry, entry, 1)[1] then return 'active' end
  if idAbove(entry, lastDelivered(key, group)) then return 'waiting' end
  return nil
end

-- The entry `entry` of stream index `index` when it is live: state, index, entry, fields; else nil.
local function liveEntry(streams, group, index, entry)
  local key = streams[index + 1]
  if not key then return nil end
  local item = redis.call('XRANGE', key, entry, entry)[1]
  if not item then return nil end
  local state = entryState(key, group, entry)
  if not state then return nil end
  return state, index, entry, item[2]
end

-- Returns the job's state ('delayed', 'waiting', 'failed' from its hash; 'completed' from its record in
-- the done hash; 'waiting' or 'active' on a stream, then also the stream's index, the entry id and the
-- entry's fields), or nil: no such job. Costs one HMGET and one HEXISTS, and for a job on a stream an
-- XRANGE and an XPENDING (plus one XRANGE per level before its own for a job without a hash).
local function locate(base, group, streams, levels, id)
  local r = redis.call('HMGET', jobKey(base, id), 'state', 'entry', 'lvl')
  local state = r[1]
  if state and state ~= 'queued' then return state end
  if state then
    local live, index, entry, fields = liveEntry(streams, group, tonumber(r[3]), r[2])
    if live then return live, index, entry, fields end
  end
  -- A job's hash can outlive its completion (progress set from a Queue while it ran): its record is newer.
  if redis.call('HEXISTS', doneKey(base), id) == 1 then return 'completed' end
  if state or not string.match(id, '^%d+$') then return nil end
  local entry = id .. '-0'
  for index = 1, #levels do
    local item = redis.call('XRANGE', levels[index], entry, entry)[1]
    if item then
      -- The number may have gone to an entry of another job (full layout, its own id first).
      if item[2][1] == 'id' then return nil end
      return liveEntry(streams, group, index - 1, entry)
    end
  end
  return nil
end

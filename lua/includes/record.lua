-- record: a job's hash (`job:<id>`), for the states a stream entry cannot hold: delayed, waiting in its
-- group, failed. Its fields are the job's (job-fields.lua) and its state's. While a job that has a hash is
-- on a stream (it was given its own jobId, or was requeued), the hash is its locator: state 'queued',
-- `entry` and `lvl` (the stream's index) say where its entry is, and the entry is authoritative for
-- everything but `progress`, which lives only here. Other fields a locator still holds from an earlier
-- state are ignored until a later state writes them again.
--@include keys
--@include job-fields

local function putField(f, name, value)
  local n = #f
  f[n + 1], f[n + 2] = name, value
end

-- HSET arguments for job `j` (the table appendJob takes) in `state`; the caller adds its state's own fields.
local function recordFields(state, j)
  local f = { 'state', state, 'name', j.name, 'data', j.data, 'opts', j.opts, 'ts', j.ts, 'prio', j.prio, 'ats', j.ats,
    'atm', j.atm, 'stalls', j.stalls }
  if j.grp and j.grp ~= '' then putField(f, 'grp', j.grp) end
  if j.err then
    putField(f, 'err', j.err)
    putField(f, 'stack', j.stack or '')
  end
  return f
end

-- Job `id`'s hash becomes the locator of its entry `entry` on stream index `lvl`. `place`, for a job
-- admitted through the admit stream: its score in its group's waiting set, or its front score (release.lua).
local function markQueued(base, id, entry, lvl, place)
  if place then
    redis.call('HSET', jobKey(base, id), 'state', 'queued', 'entry', entry, 'lvl', lvl, 'place', place)
  else
    redis.call('HSET', jobKey(base, id), 'state', 'queued', 'entry', entry, 'lvl', lvl)
  end
end

-- A job's hash (delayed, waiting in a group, failed) read into the table appendJob takes, or nil when the
-- job has no hash. Counters a hash leaves out are 0; other missing fields stay nil. Check it with jobProblem
-- before writing it anywhere.
local HASH_FIELDS = { 'state', 'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'stalls', 'err', 'stack' }
local function recordJob(base, id)
  local r = redis.call('HMGET', jobKey(base, id), unpack(HASH_FIELDS))
  if not r[1] then return nil end
  return { id = id, name = r[2] or nil, data = r[3] or nil, opts = r[4] or nil, ts = r[5] or nil, prio = r[6] or nil,
    grp = r[7] or '', ats = r[8] or '0', atm = r[9] or '0', stalls = r[10] or '0', err = r[11] or nil, stack = r[12] or nil }
end

-- get-jobs: one page of the jobs in a state, in the order they will run or ran: waiting by level, each
-- level's front (release.lua) before its stream, then age (then grouped jobs, group by group), active by stream then claim order, delayed soonest first, blocked
-- oldest first, completed
-- and failed newest first.
-- KEYS: delayed completed failed groups... streams...
-- ARGV: base group state start stop   (start and stop are 0-based and inclusive, as in ZRANGE)
-- Returns: per job the six values get-job returns for one: id, state, stream, entry, fields, progress
-- Events: none
-- Loops: reads at most stop + 1 entries per stream and group; one HGETALL (a job in its hash) or one or two
--   HGETs (on a stream, completed) per returned job, plus an XRANGE per active one
--@include keys
--@include groups
--@include entry
--@include xinfo
--@include view
local G = groupKeys(KEYS, 4)
local streams, levels = streamKeys(KEYS, 4 + GROUP_KEY_COUNT)
local base, group, state = ARGV[1], ARGV[2], ARGV[3]
local start, stop = tonumber(ARGV[4]), tonumber(ARGV[5])
local want = stop + 1
-- What is collected, in order: ids of jobs off the streams, or {index, entry, fields} of jobs on one.
local seen = {}

local finished = {}
if state == 'completed' then
  local scored = redis.call('ZREVRANGE', KEYS[2], 0, stop, 'WITHSCORES')
  for i = 1, #scored, 2 do
    seen[#seen + 1] = scored[i]
    finished[scored[i]] = scored[i + 1]
  end
elseif state == 'failed' then
  seen = redis.call('ZREVRANGE', KEYS[3], 0, stop)
elseif state == 'delayed' then
  seen = redis.call('ZRANGE', KEYS[1], 0, stop)
elseif state == 'blocked' then
  seen = redis.call('ZRANGE', blockedKey(base), 0, stop)
elseif state == 'waiting' then
  for index, key in ipairs(levels) do
    if #seen >= want then break end
    for _, id in ipairs(redis.call('ZRANGE', frontKey(base, index - 1), 0, want - #seen - 1)) do seen[#seen + 1] = id end
    if #seen < want and redis.call('EXISTS', key) == 1 then
      -- Entries after the group's last-delivered id were never handed out: those are the waiting ones.
      for _, item in ipairs(redis.call('XRANGE', key, '(' .. lastDelivered(key, group), '+', 'COUNT', want - #seen)) do
        seen[#seen + 1] = { index - 1, item[1], item[2] }
      end
    end
  end
  for _, g in ipairs(redis.call('HKEYS', G.state)) do
    if #seen >= want then break end
    for _, id in ipairs(redis.call('ZRANGE', groupWaitKey(base, g), 0, want - #seen - 1)) do seen[#seen + 1] = id end
  end
else
  for index, key in ipairs(streams) do
    if #seen >= want then break end
    if redis.call('EXISTS', key) == 1 then
      for _, p in ipairs(redis.call('XPENDING', key, group, '-', '+', want - #seen)) do
        local item = redis.call('XRANGE', key, p[1], p[1])[1]
        if item then seen[#seen + 1] = { index - 1, item[1], item[2] } end
      end
    end
  end
end

local out = {}
for i = start + 1, #seen do
  local job = seen[i]
  local view
  if type(job) == 'table' then
    local id = entryIdAndAttempt(job[2], job[3])
    view = jobView(base, id, state, job[1], job[2], job[3])
  elseif state == 'completed' then
    view = doneView(base, job, finished[job])
  else
    view = jobView(base, job, state, nil)
  end
  if view then
    for i = 1, 6 do out[#out + 1] = view[i] end
  end
end
return out

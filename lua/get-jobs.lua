-- get-jobs: one page of the jobs in a state, with all their fields, in the order they will run or ran:
-- waiting by level then age (then grouped jobs, group by group), active by stream then claim order,
-- delayed soonest first, completed and failed newest first.
-- KEYS: delayed completed failed groups... streams...
-- ARGV: base group state start stop   (start and stop are 0-based and inclusive, as in ZRANGE)
-- Returns: {id, {field, value, ...}, id, {...}, ...}
-- Events: none
-- Loops: reads at most stop + 1 entries per stream and group; one HGETALL per returned job
--@include keys
--@include groups
local G = groupKeys(4)
local streams, levels = streamKeys(4 + GROUP_KEY_COUNT)
local base, group, state = ARGV[1], ARGV[2], ARGV[3]
local start, stop = tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = {}

if state == 'completed' or state == 'failed' then
  local key = KEYS[2]
  if state == 'failed' then key = KEYS[3] end
  ids = redis.call('ZREVRANGE', key, start, stop)
elseif state == 'delayed' then
  ids = redis.call('ZRANGE', KEYS[1], start, stop)
else
  local want = stop + 1
  local seen = {}
  if state == 'waiting' then
    for _, key in ipairs(levels) do
      if #seen >= want then break end
      -- Entries after the group's last-delivered id were never handed out: those are the waiting ones.
      local from = '-'
      if redis.call('EXISTS', key) == 1 then
        for _, info in ipairs(redis.call('XINFO', 'GROUPS', key)) do
          for i = 1, #info, 2 do
            if info[i] == 'name' and info[i + 1] ~= group then break end
            if info[i] == 'last-delivered-id' then from = '(' .. info[i + 1] end
          end
        end
      end
      for _, item in ipairs(redis.call('XRANGE', key, from, '+', 'COUNT', want - #seen)) do
        if item[2] then seen[#seen + 1] = item[2][2] end
      end
    end
    for _, g in ipairs(redis.call('HKEYS', G.state)) do
      if #seen >= want then break end
      for _, id in ipairs(redis.call('ZRANGE', groupWaitKey(base, g), 0, want - #seen - 1)) do seen[#seen + 1] = id end
    end
  else
    for _, key in ipairs(streams) do
      if #seen >= want then break end
      for _, p in ipairs(redis.call('XPENDING', key, group, '-', '+', want - #seen)) do
        local item = redis.call('XRANGE', key, p[1], p[1])[1]
        if item then seen[#seen + 1] = item[2][2] end
      end
    end
  end
  for i = start + 1, #seen do ids[#ids + 1] = seen[i] end
end

local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', jobKey(base, id))
end
return out

-- get-jobs: one page of the jobs in a state, with all their fields, in the order they will run or ran:
-- waiting by level then age, active by level then claim order, delayed soonest first, completed and
-- failed newest first.
-- KEYS: delayed completed failed wait...
-- ARGV: base group state start stop   (start and stop are 0-based and inclusive, as in ZRANGE)
-- Returns: {id, {field, value, ...}, id, {...}, ...}
-- Events: none
-- Loops: reads at most stop + 1 entries per level; one HGETALL per returned job
--@include keys
local waits = waitKeys(4)
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
  for _, key in ipairs(waits) do
    if #seen >= want then break end
    if state == 'waiting' then
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
    else
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

-- obliterate: delete the queue, its jobs and its logs, in bounded steps; pauses the queue first.
-- KEYS: meta id delayed completed failed events ctl wait...
-- ARGV: base force limit
-- Returns: JOB_ACTIVE (jobs are running and force is 0: nothing deleted) | jobs deleted by this call;
--          0 means the queue is gone; call again while it returns a positive number
-- Events: none (the events stream is deleted)
-- Loops: at most `limit` jobs deleted per call
--@include status
--@include keys
local metaKey = KEYS[1]
local waits = waitKeys(8)
local base, force, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])

local active = tonumber(redis.call('HGET', metaKey, 'active') or '0')
if active > 0 and force ~= '1' then return STATUS.JOB_ACTIVE end
if redis.call('EXISTS', metaKey) == 1 then redis.call('HSET', metaKey, 'paused', '1') end

local deleted = 0
local function drop(id)
  redis.call('DEL', jobKey(base, id), logsKey(base, id))
  deleted = deleted + 1
end
for _, key in ipairs(waits) do
  if deleted >= limit then break end
  local entries = redis.call('XRANGE', key, '-', '+', 'COUNT', limit - deleted)
  if #entries > 0 then
    local ids = {}
    for i, item in ipairs(entries) do
      ids[i] = item[1]
      if item[2] then drop(item[2][2]) end
    end
    redis.call('XDEL', key, unpack(ids))
  end
end
for k = 3, 5 do
  if deleted >= limit then break end
  local ids = redis.call('ZRANGE', KEYS[k], 0, limit - deleted - 1)
  if #ids > 0 then
    for _, id in ipairs(ids) do drop(id) end
    redis.call('ZREM', KEYS[k], unpack(ids))
  end
end
if deleted > 0 then return deleted end
for _, key in ipairs(KEYS) do redis.call('DEL', key) end
return 0

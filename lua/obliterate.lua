-- obliterate: delete the queue, its jobs, logs, groups, limits, schedules, per-minute history, flows'
-- links and batches, in bounded steps; pauses it first.
-- KEYS: meta id delayed completed failed events ctl rate schedules scheduleNext scheduleRuns groups... streams...
-- ARGV: base force limit
-- Returns: JOB_ACTIVE (jobs are running and force is 0: nothing deleted) | jobs (or, once no job is left,
--          labels' index keys, then batches' hashes, then flows' parts) deleted by this call; 0 means the queue is gone; call again while it returns a
--          positive number
-- Events: none (the events stream is deleted)
-- Loops: at most `limit` jobs deleted per call; then at most `limit` labels' keys, then batches, then
--   parts of flows across slots (dependents.lua), per call; in the last call one DEL per worker alive (its
--   wake stream, handoff.lua)
--@include status
--@include keys
--@include groups
--@include entry
--@include labels
--@include active
local metaKey = KEYS[1]
local G = groupKeys(KEYS, 12)
local streams, levels = streamKeys(KEYS, 12 + GROUP_KEY_COUNT)
local base, force, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])

local active = activeCount(redis.call('HGET', metaKey, 'active'))
if active > 0 and force ~= '1' then return STATUS.JOB_ACTIVE end
if redis.call('EXISTS', metaKey) == 1 then redis.call('HSET', metaKey, 'paused', '1') end

local deleted = 0
-- Labeled jobs' entries in labels:of go in the same steps as their jobs, so no single DEL frees millions;
-- asked once per call (labels.lua), a queue that never had labels touches none of it.
local labeled = labelsInUse(metaKey)
local dropped = {}
local function drop(id)
  redis.call('DEL', jobKey(base, id), logsKey(base, id), depsKey(base, id), dependentsKey(base, id))
  deleted = deleted + 1
  if labeled then dropped[#dropped + 1] = id end
end
local function forget()
  if #dropped > 0 then redis.call('HDEL', labelsOfKey(base), unpack(dropped)) end
  dropped = {}
end
for _, key in ipairs(streams) do
  if deleted >= limit then break end
  local entries = redis.call('XRANGE', key, '-', '+', 'COUNT', limit - deleted)
  if #entries > 0 then
    local ids = {}
    for i, item in ipairs(entries) do
      ids[i] = item[1]
      if item[2] then drop((entryIdAndAttempt(item[1], item[2]))) end
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
    -- Completed jobs' records are in one hash: deleted in the same steps, so no single DEL frees millions.
    if k == 4 then redis.call('HDEL', doneKey(base), unpack(ids)) end
  end
end
-- Jobs waiting for their dependencies (dependents.lua).
if deleted < limit then
  local ids = redis.call('ZRANGE', blockedKey(base), 0, limit - deleted - 1)
  for _, id in ipairs(ids) do drop(id) end
  if #ids > 0 then redis.call('ZREM', blockedKey(base), unpack(ids)) end
end
-- The levels' fronts (jobs a RateLimitError gave back, release.lua).
for level = 0, #levels - 1 do
  if deleted >= limit then break end
  local key = frontKey(base, level)
  local ids = redis.call('ZRANGE', key, 0, limit - deleted - 1)
  for _, id in ipairs(ids) do drop(id) end
  if #ids > 0 then redis.call('ZREM', key, unpack(ids)) end
end
-- Groups with waiting jobs are the ones with a state; their rate logs and smooth limits' times go with them
-- (those of idle groups expire on their own within one window).
for _, g in ipairs(redis.call('HKEYS', G.state)) do
  if deleted >= limit then break end
  local waitKey = groupWaitKey(base, g)
  local ids = redis.call('ZRANGE', waitKey, 0, limit - deleted - 1)
  for _, id in ipairs(ids) do drop(id) end
  if #ids > 0 then redis.call('ZREM', waitKey, unpack(ids)) end
  if redis.call('EXISTS', waitKey) == 0 then
    redis.call('HDEL', G.state, g)
    redis.call('DEL', groupRateKey(base, g), groupTatKey(base, g))
  end
end
forget()
if deleted > 0 then return deleted end
-- The label index: each label's three sets, `limit` labels per call.
local labels = redis.call('ZRANGE', labelsKey(base), 0, limit - 1)
if #labels > 0 then
  for _, label in ipairs(labels) do
    redis.call('DEL', labelKey(base, label, 'q'), labelKey(base, label, 'c'), labelKey(base, label, 'f'))
  end
  redis.call('ZREM', labelsKey(base), unpack(labels))
  return #labels
end
-- Hashes found through an index (a sorted set of their ids): up to `limit` of them and their members.
local function dropIndexed(indexKey, keyOf)
  local ids = redis.call('ZRANGE', indexKey, 0, limit - 1)
  if #ids == 0 then return 0 end
  local hashes = {}
  for i, id in ipairs(ids) do hashes[i] = keyOf(base, id) end
  redis.call('DEL', unpack(hashes))
  redis.call('ZREM', indexKey, unpack(ids))
  return #ids
end
-- Batches' hashes (batches.lua), then the parts of flows across Cluster slots that waited for the rest of
-- their flow (add-flow.lua).
local batches = dropIndexed(batchesKey(base), batchKey)
if batches > 0 then return batches end
local parts = dropIndexed(flowsKey(base), flowKey)
if parts > 0 then return parts end
for _, key in ipairs(KEYS) do redis.call('DEL', key) end
-- The wake streams of the workers registered for a handoff (handoff.lua): one per worker alive.
for _, consumer in ipairs(redis.call('ZRANGE', workersKey(base), 0, -1)) do redis.call('DEL', wakeKey(base, consumer)) end
redis.call('DEL', waitersKey(base), outboxKey(base), doneKey(base), historyKey(base), historyNowKey(base), dedupeKey(base), dedupeWindowsKey(base), blockedKey(base),
  linkedKey(base), workersKey(base), workerInfoKey(base), labelsOfKey(base), batchesKey(base), sharesTurnKey(base))
return 0

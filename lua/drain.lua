-- drain: remove up to `limit` waiting and delayed jobs, as remove-job removes one; running jobs stay, and so
-- do completed and failed ones. Delayed jobs go first, then the levels' fronts, the groups' waiting sets and
-- the level streams' waiting entries (those above the group's last-delivered id: never handed out).
-- KEYS: meta delayed events groups... streams...
-- ARGV: base group limit eventsMaxLen
-- Returns: jobs removed by this call; fewer than `limit` means none is left waiting or delayed
-- Events: removed (per job), as remove-job; added (a batch's callback, when the last members pending of a
--   batch were removed: a removed member counts as failed, as in remove-job, batches.lua)
-- Loops: at most `limit` (1,000) jobs; one HKEYS of the groups with work (as obliterate)
--@include status
--@include keys
--@include groups
--@include entry
--@include xinfo
--@include events
--@include dedupe
--@include labels
--@include clock
--@include batches
local metaKey, delayedKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local G = groupKeys(KEYS, 4)
local streams, levels = streamKeys(KEYS, 4 + GROUP_KEY_COUNT)
local base, group, limit, maxLen = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])

local removed = {}
-- A queue that has batches (their index exists) counts its removed members in them: each removed job's
-- options are read then (its entry's, or one HGET), and not otherwise.
local batched = redis.call('EXISTS', batchesKey(base)) == 1
local entryOpts = {}
-- Takes `ids` out of sorted set `key` (a delayed set, a front, a group's waiting set); `counter`, a meta
-- field that counts its jobs, goes down by as many.
local function takeSet(key, counter)
  if #removed >= limit then return end
  local ids = redis.call('ZRANGE', key, 0, limit - #removed - 1)
  if #ids == 0 then return end
  redis.call('ZREM', key, unpack(ids))
  if counter then redis.call('HINCRBY', metaKey, counter, -#ids) end
  for _, id in ipairs(ids) do removed[#removed + 1] = id end
end

takeSet(delayedKey, nil)
for level = 0, #levels - 1 do
  if #removed >= limit then break end
  takeSet(frontKey(base, level), 'front')
end
-- A group left without waiting jobs keeps its place: claim finds it empty when it next serves it (as after
-- remove-job).
for _, g in ipairs(redis.call('HKEYS', G.state)) do
  if #removed >= limit then break end
  takeSet(groupWaitKey(base, g), 'gwaiting')
end
-- Entries after the group's last-delivered id were never handed out: the waiting ones. Deleting them takes
-- the derived waiting count down with XLEN; no acked counter holds them.
for _, key in ipairs(levels) do
  if #removed >= limit then break end
  if redis.call('EXISTS', key) == 1 then
    local entries = redis.call('XRANGE', key, '(' .. lastDelivered(key, group), '+', 'COUNT', limit - #removed)
    if #entries > 0 then
      local ids = {}
      for i, item in ipairs(entries) do
        ids[i] = item[1]
        removed[#removed + 1] = (entryIdAndAttempt(item[1], item[2]))
        if batched and item[2] then entryOpts[removed[#removed]] = entryJob(item[1], item[2], 0).opts or '' end
      end
      redis.call('XDEL', key, unpack(ids))
    end
  end
end

if #removed == 0 then return 0 end
local keys, batches = {}, nil
if batched then
  for _, id in ipairs(removed) do
    batches = tallyFailed(batches, entryOpts[id] or redis.call('HGET', jobKey(base, id), 'opts'))
  end
end
for i, id in ipairs(removed) do
  releaseDedupe(base, id)
  keys[2 * i - 1], keys[2 * i] = jobKey(base, id), logsKey(base, id)
  emit(eventsKey, maxLen, 'removed', id, '')
end
dropLabelsIf(base, metaKey, removed, 'q')
redis.call('DEL', unpack(keys))
if batches then
  local K = queueKeysOf(base)
  local C = { base = base, idKey = K.id, levels = levels, G = G, ctl = K.ctl, meta = metaKey, now = nowMs() }
  flushBatches(C, batches, eventsKey, maxLen)
end
flushEvents()
return #removed

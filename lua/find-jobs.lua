-- find-jobs: one window of an index, read in a state: a label's jobs (labels.lua) or a group's waiting jobs.
-- A label's completed and failed jobs are their own sets (newest first, as get-jobs lists those states); its
-- unfinished ones are one set, in the order they were added, and each is looked up (locate) to keep those in
-- `state`. src/job-finder.ts calls it window after window and checks a name or group filter on what it returns.
-- KEYS: streams...
-- ARGV: base group state label jobGroup start count
--   label '' = read group `jobGroup`'s waiting set instead (state is then 'waiting'); start = the position in
--   the index to read from (0-based); count = index entries to look at, at most 1,000
-- Returns: {entries looked at (fewer than count: the index ends there), then per job in `state` the six values
--   get-job returns for one: id, state, stream, entry, fields, progress}
-- Events: none
-- Loops: at most `count` index entries; for unfinished jobs one locate each (an XRANGE per level at most)
--@include keys
--@include locate
--@include view
--@include labels
local streams, levels = streamKeys(KEYS, 1)
local base, group, state, label, jobGroup = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local start, count = tonumber(ARGV[6]), tonumber(ARGV[7])
local stop = start + count - 1
local out = { 0 }

local function add(view)
  if view then for i = 1, 6 do out[#out + 1] = view[i] end end
end

if label == '' then
  local ids = redis.call('ZRANGE', groupWaitKey(base, jobGroup), start, stop)
  out[1] = #ids
  for _, id in ipairs(ids) do add(jobView(base, id, 'waiting', nil)) end
  return out
end

local phase = labelPhase(state)
local key = labelKey(base, label, phase)
if phase == 'c' then
  local scored = redis.call('ZREVRANGE', key, start, stop, 'WITHSCORES')
  out[1] = #scored / 2
  for i = 1, #scored, 2 do add(doneView(base, scored[i], scored[i + 1])) end
elseif phase == 'f' then
  local ids = redis.call('ZREVRANGE', key, start, stop)
  out[1] = #ids
  for _, id in ipairs(ids) do add(jobView(base, id, 'failed', nil)) end
else
  local ids = redis.call('ZRANGE', key, start, stop)
  out[1] = #ids
  for _, id in ipairs(ids) do
    local found, index, entry, fields = locate(base, group, streams, levels, id)
    if found == state then add(jobView(base, id, state, index, entry, fields)) end
  end
end
return out

-- retry-jobs: send up to `limit` jobs of a finished set (failed or completed) back to waiting, oldest first.
-- KEYS: id meta set events ctl groups... streams...
-- ARGV: base limit eventsMaxLen completed skip
--   completed = '1' when `set` is the completed set (its jobs' records are in the done hash), '0' for failed;
--   skip = jobs at the front of the set to pass over: the corrupt ones earlier calls left there
-- Returns: {jobs looked at (call again while it equals limit), jobs sent back, jobs that stayed because
--   their stored fields cannot be used (revive.lua): skip them next time}
-- Events: waiting (per job)
-- Loops: at most `limit` jobs
--@include clock
--@include revive
local idKey, metaKey, setKey, eventsKey, ctlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local _, levels = streamKeys(KEYS, 6 + GROUP_KEY_COUNT)
local base, limit, maxLen, completed, skip = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5])
local Q = { base = base, idKey = idKey, levels = levels, G = groupKeys(KEYS, 6), ctl = ctlKey, meta = metaKey, now = nowMs() }
local ids = redis.call('ZRANGE', setKey, skip, skip + limit - 1)
local revived, stayed = 0, 0
for _, id in ipairs(ids) do
  local status = revive(Q, setKey, eventsKey, maxLen, id, completed)
  if status == STATUS.OK then revived = revived + 1 elseif status == STATUS.CORRUPT then stayed = stayed + 1 end
end
flushEvents()
return { #ids, revived, stayed }

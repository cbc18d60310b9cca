-- dedupe: the locks that keep one job per dedupe key (add-deduped.lua). The dedupe hash (keys.lua
-- dedupeKey) holds dedupe key -> '<until>:<job id>':
--   until 0   in flight: the key is held while its job is unfinished. complete, fail (for good),
--             recover-stalled (failing it), cancel and remove-job release it; add-deduped also checks the
--             job's state, so a lock whose release was missed (a corrupt job, a deleted hash) is taken over.
--   until > 0 a window (throttle, debounce) that ends then, on Redis' clock, whatever the job does; its end
--             is also in the windows sorted set, so add-deduped sweeps expired windows a few at a time.
-- A job that holds a key has it in its hash as `ddk`: a deduplicated job always has a hash. Only a job with
-- a dedupe key reaches releaseDedupe: complete calls it for a job its worker sent with `hashed` 2, fail for a
-- retryDelay of -2 (src/redis/store.ts), so a job without one pays nothing in either.
--@include keys

-- The holder of `key` in lock hash `locks` and when its window ends (0: in flight), or nil.
local function dedupeLock(locks, key)
  local value = redis.call('HGET', locks, key)
  if not value then return nil end
  local untilS, id = string.match(value, '^(%d+):(.+)$')
  if not untilS then return nil end
  return id, tonumber(untilS)
end

-- Job `id` finished (or was removed): the in-flight lock it holds, if any, is released. A window stays until
-- it ends, and a lock another job took meanwhile is not this job's to release.
local function releaseDedupe(base, id)
  local key = redis.call('HGET', jobKey(base, id), 'ddk')
  if key and redis.call('HGET', dedupeKey(base), key) == '0:' .. id then redis.call('HDEL', dedupeKey(base), key) end
end

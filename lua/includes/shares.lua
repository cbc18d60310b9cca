-- shares: a partitioned queue's queue-wide limit as shares that move between its partitions (set-share,
-- lower-share, raise-share, get-shares; docs/ARCHITECTURE.md, "shares that follow the load").
--
-- A partition's share is its own limit, where claim reads it: the concurrency of its rule, or the max of its
-- sliding window (queue-limits.lua). Beside it, meta `ccpool` (concurrency) or `rlpool` (rate) says which
-- pool the share is part of: "<total> <epoch>", the queue-wide total the shares add up to at most, and the
-- epoch of the set that wrote it. Epochs come from partition 0's meta `poolseq` and only grow: a move carries
-- the epoch it read, and a partition whose pool has another refuses it (STALE). A smooth limit has no pool:
-- its shares stay where the split put them.
--@include queue-limits

local POOL_FIELD = { concurrency = 'ccpool', rate = 'rlpool' }

-- The pool of kind `kind` in meta: total and epoch, or nil when the partition has none.
local function sharePool(metaKey, kind)
  local total, epoch = string.match(redis.call('HGET', metaKey, POOL_FIELD[kind]) or '', '^(%d+) (%d+)$')
  if not total then return nil end
  return { total = tonumber(total), epoch = tonumber(epoch) }
end

-- The rule in meta and the share of kind `kind` in it: the concurrency, or a sliding window's max (0: none).
local function readShare(metaKey, kind)
  local rule = readQueueRule(metaKey)
  local share = 0
  if kind == 'concurrency' then
    if rule.concurrency > 0 then share = rule.concurrency end
  elseif rule.burst <= 0 then
    share = rule.max
  end
  return rule, share
end

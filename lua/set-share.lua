-- set-share: one partition's share of a partitioned queue's queue-wide limit as a set or a repair writes it,
-- the first of its two steps (shares.lua; docs/ARCHITECTURE.md, "shares that follow the load"). It writes
-- the pool (the queue-wide total, the set's epoch) and a share of at most `share` and never above the one
-- there: this step only lowers, so while the partitions are written one by one the shares never add up to
-- more than before; raise-share, once every partition has this epoch, gives each the rest of its `share`.
-- A share lowered below the jobs it runs (or started in its window) holds new starts back until they fit,
-- as a lowered limit does on an unpartitioned queue.
-- KEYS: meta ctl rate
-- ARGV: kind total epoch share duration burst expect   kind: 'concurrency' or 'rate'; total 0 removes the limit
--   and its pool; burst > 0: a smooth rate limit, written as given and without a pool (its shares do not move);
--   expect: '' for a set (refused by a newer epoch only), or the epoch the repair read here (refused by any
--   other, but its own: a call sent again)
-- Returns: {OK, share, used}: the share written (0 when removed) and what the partition uses now (running
--   jobs, or starts in its window), or {STALE} (a newer set, or another repair, got here first)
-- Events: none
-- Loops: none
--@include status
--@include shares
--@include clock
local metaKey, ctlKey, rateKey = KEYS[1], KEYS[2], KEYS[3]
local kind, total, epoch, target = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local duration, burst, expect = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local field = POOL_FIELD[kind]
if not field then return redis.error_reply('set-share: kind must be concurrency or rate, not ' .. tostring(kind)) end

local pool = sharePool(metaKey, kind)
local had = 0
if pool then had = pool.epoch end
if expect ~= '' then
  if had ~= tonumber(expect) and had ~= epoch then return { STATUS.STALE } end
elseif had > epoch then
  return { STATUS.STALE }
end

local rule, current = readShare(metaKey, kind)
local share = target
if total <= 0 then
  share = 0
  redis.call('HDEL', metaKey, field)
elseif burst > 0 then
  redis.call('HDEL', metaKey, field)
else
  if current > 0 and current < share then share = current end
  redis.call('HSET', metaKey, field, int(total) .. ' ' .. int(epoch))
end

if kind == 'concurrency' then
  putConcurrencyRule(metaKey, rule, share)
else
  putRateRule(metaKey, rateKey, rule, share, duration, burst > 0 and burst or -1)
end
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'share', share)
local used = 0
if kind == 'concurrency' then
  used = activeCount(redis.call('HGET', metaKey, 'active'))
elseif share > 0 and rule.burst <= 0 then
  -- Claim's own trim (claim-jobs.lua): what is left is the starts its window counts.
  redis.call('ZREMRANGEBYSCORE', rateKey, '-inf', nowMs() - duration)
  used = redis.call('ZCARD', rateKey)
end
return { STATUS.OK, share, used }

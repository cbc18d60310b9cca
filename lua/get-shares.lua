-- get-shares: what the rebalancer of a partitioned queue reads of one partition (docs/ARCHITECTURE.md,
-- "shares that follow the load"): its shares of the queue-wide concurrency and rate limit, their pools, and
-- what it uses of each: running jobs, and starts in its sliding window's current window (counted, not
-- trimmed: the claim trims).
-- KEYS: meta rate
-- ARGV: none
-- Returns: {ccShare, ccTotal, ccEpoch, rlShare, rlTotal, rlEpoch, rlDuration, active, waited, started}:
--   a share of 0 is none, an epoch of 0 no pool; waited 1 while a claim refused at the concurrency waits
-- Events: none
-- Loops: none
--@include shares
--@include clock
local metaKey, rateKey = KEYS[1], KEYS[2]
local rule, ccShare = readShare(metaKey, 'concurrency')
local _, rlShare = readShare(metaKey, 'rate')
local cc = sharePool(metaKey, 'concurrency') or { total = 0, epoch = 0 }
local rl = sharePool(metaKey, 'rate') or { total = 0, epoch = 0 }
local active = redis.call('HGET', metaKey, 'active')
local waited = 0
if tonumber(active or '0') >= ACTIVE_WAITING then waited = 1 end
local started = 0
if rlShare > 0 then started = redis.call('ZCOUNT', rateKey, '(' .. (nowMs() - rule.duration), '+inf') end
return { ccShare, cc.total, cc.epoch, rlShare, rl.total, rl.epoch, rule.duration, activeCount(active), waited, started }

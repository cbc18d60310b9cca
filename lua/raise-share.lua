-- raise-share: a partition's share of the queue-wide limit goes up by `by`: the second step of a move, once
-- the giver's lower-share (or a later get-shares) showed the budget unused, or the second step of a set or a
-- repair, once every partition has its pool (set-share). Refused when the partition's pool is not of
-- `epoch`: a set or a repair since then has written shares that this budget must not be added to. The ctl
-- entry wakes the workers a claim held back at the old share.
-- KEYS: meta ctl
-- ARGV: kind by epoch
-- Returns: {OK, share}, or {STALE}
-- Events: none
-- Loops: none
--@include status
--@include shares
local metaKey, ctlKey = KEYS[1], KEYS[2]
local kind, by, epoch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local pool = sharePool(metaKey, kind)
if not pool or pool.epoch ~= epoch then return { STATUS.STALE } end
local rule, share = readShare(metaKey, kind)
if share <= 0 then return { STATUS.STALE } end
share = share + by
if kind == 'concurrency' then
  rule.concurrency = share
  if tonumber(redis.call('HGET', metaKey, 'active') or '0') >= ACTIVE_WAITING then
    redis.call('HINCRBY', metaKey, 'active', int(-ACTIVE_WAITING))
  end
else
  rule.max = share
end
writeQueueRule(metaKey, rule)
redis.call('XADD', ctlKey, 'MAXLEN', 10, '*', 'share', share)
return { STATUS.OK, share }

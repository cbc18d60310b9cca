-- lower-share: a partition gives up `by` of its share of the queue-wide limit, the first step of a move
-- (raise-share on the receiving partition is the second; docs/ARCHITECTURE.md, "Shares that follow the
-- load"). From this call on its claim holds it to the lower share. The reply says what it uses now (running
-- jobs, or starts in its current window): once that is at most the new share, the budget given up is unused,
-- and it stays so (the claim never lets the use pass the share), so the receiver may be raised.
-- KEYS: meta rate
-- ARGV: kind by epoch
-- Returns: {OK, share, used}, or {STALE} when the pool's epoch is not `epoch` or the share would fall below 1
-- Events: none
-- Loops: none
--@include status
--@include shares
--@include clock
local metaKey, rateKey = KEYS[1], KEYS[2]
local kind, by, epoch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local pool = sharePool(metaKey, kind)
if not pool or pool.epoch ~= epoch then return { STATUS.STALE } end
local rule, share = readShare(metaKey, kind)
if share - by < 1 then return { STATUS.STALE } end
share = share - by
local used
if kind == 'concurrency' then
  rule.concurrency = share
  used = activeCount(redis.call('HGET', metaKey, 'active'))
else
  rule.max = share
  -- Claim's own trim (claim-jobs.lua): what is left is the starts its window counts.
  redis.call('ZREMRANGEBYSCORE', rateKey, '-inf', nowMs() - rule.duration)
  used = redis.call('ZCARD', rateKey)
end
writeQueueRule(metaKey, rule)
return { STATUS.OK, share, used }

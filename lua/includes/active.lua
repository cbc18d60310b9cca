-- active: meta `active` is the number of deliveries handed out and not yet settled (exact), plus
-- ACTIVE_WAITING (2^40) while a claim refused at the queue's concurrency waits for a slot (queue-limits.lua).
-- The mark rides on the counter that every settle already moves with HINCRBY, so a settle learns from that
-- command's reply whether anyone waits: a field of its own cost every settle call that does not claim one
-- HDEL, about 4,300 Redis instructions (npm run bench:lua-costs), on every queue, a concurrency or not.
-- 2^40 is far above any count of deliveries and far below 2^53, where a Lua number stops being exact.
local ACTIVE_WAITING = 1099511627776

-- The deliveries that meta `active` (text or number) counts, without the mark.
local function activeCount(value)
  local n = tonumber(value or '0') or 0
  if n >= ACTIVE_WAITING then n = n - ACTIVE_WAITING end
  return n
end

-- clock: Redis' own time in ms. Every due time is compared against this one clock, so a delayed job
-- never runs early because of a skewed client clock.
--@include numbers
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

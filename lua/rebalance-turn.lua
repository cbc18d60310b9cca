-- rebalance-turn: which Worker moves a partitioned queue's shares this interval (docs/ARCHITECTURE.md,
-- "shares that follow the load"): the one holding the turn key of partition 0, which expires `ttl` ms after
-- its holder last took it, so a Worker that dies hands it on. The shares stay exact with two movers at once
-- (the pools' epochs see to that); one mover saves the others' reads. ttl 0 gives the turn back.
-- KEYS: turn
-- ARGV: consumer ttl
-- Returns: 1 when `consumer` holds the turn, else 0
-- Events: none
-- Loops: none
local turnKey = KEYS[1]
local consumer, ttl = ARGV[1], tonumber(ARGV[2])
local holder = redis.call('GET', turnKey)
if ttl <= 0 then
  if holder == consumer then redis.call('DEL', turnKey) end
  return 0
end
if holder and holder ~= consumer then return 0 end
redis.call('SET', turnKey, consumer, 'PX', ttl)
return 1

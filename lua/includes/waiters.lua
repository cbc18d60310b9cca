-- waiters: idle workers registered for a handoff (handoff.lua says why and how): registering when a claim
-- found nothing, and leaving with the jobs handed meanwhile. Part of claim-jobs.lua's claim.
--@include numbers
--@include keys

-- Registers `slots` waiters of `consumer` until `untilMs`, after dropping those that ran out. Returns the
-- last id of the consumer's wake stream, where its XREAD starts.
local function registerWaiter(Q, consumer, slots, untilMs)
  local key = waitersKey(Q.base)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', int(Q.now))
  local args = {}
  for slot = 1, slots do
    args[#args + 1] = int(untilMs)
    args[#args + 1] = consumer .. '#' .. slot
  end
  redis.call('ZADD', key, unpack(args))
  local last = redis.call('XREVRANGE', wakeKey(Q.base, consumer), '+', '-', 'COUNT', '1')
  if last[1] then return last[1][1] end
  return '0-0'
end

-- Ends `consumer`'s wait of `slots` waiters: none is handed a job after this. The jobs handed to it after
-- wake entry `from` (which its XREAD did not return) go into `out` as claim hands jobs out; returns how many.
-- The wake stream is deleted: everything in it has now been read.
local function unregisterWaiter(Q, consumer, slots, from, out)
  local members = {}
  for slot = 1, slots do members[slot] = consumer .. '#' .. slot end
  redis.call('ZREM', waitersKey(Q.base), unpack(members))
  local key = wakeKey(Q.base, consumer)
  local handed = redis.call('XRANGE', key, '(' .. from, '+')
  for _, item in ipairs(handed) do
    -- e, entry, i, stream index, t, processedOn, then the job's entry fields (entry.lua's layouts).
    local f = item[2]
    local job = {}
    for k = 7, #f do job[#job + 1] = f[k] end
    out[#out + 1], out[#out + 2], out[#out + 3] = f[2], tonumber(f[4]), job
  end
  redis.call('DEL', key)
  return #handed
end


-- A claim's `wait` argument into Q: '<ms>' (0: no handoff), then ':<slots>:<from>' to end the last wait.
local function readWait(Q, arg)
  local ms, slots, from = string.match(arg, '^(%d+):?(%d*):?(.*)$')
  Q.wait = tonumber(ms) or 0
  if slots and slots ~= '' then Q.unwait, Q.from = tonumber(slots), from end
end

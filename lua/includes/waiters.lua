-- waiters: idle workers registered for a handoff (handoff.lua says why and how): registering when a claim
-- found nothing, and leaving with the jobs handed meanwhile. Part of claim-jobs.lua's claim.
--@include numbers
--@include keys

-- Registers `slots` waiters of `consumer` until `untilMs`, after dropping those that ran out. A worker
-- registers only when it holds no registration (its last one ended, or every slot of it was handed and
-- read), so its wake stream holds only entries it read: deleted here, which bounds the stream by one
-- registration's slots. Returns where its XREAD starts: '0-0'.
local function registerWaiter(Q, consumer, slots, untilMs)
  local key = waitersKey(Q.base)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', int(Q.now))
  local args = {}
  for slot = 1, slots do
    args[#args + 1] = int(untilMs)
    args[#args + 1] = consumer .. '#' .. slot
  end
  redis.call('ZADD', key, unpack(args))
  redis.call('DEL', wakeKey(Q.base, consumer))
  return '0-0'
end

-- Ends `consumer`'s wait: none is handed a job after this. `registered`: the slots its last registration
-- named (members '#1' to '#registered', whichever adds took since); `unread`: how many of them its reads
-- have not accounted for. The jobs handed to it after wake entry `from` (which its XREAD did not return) go
-- into `out` as claim hands jobs out; returns how many. The wake stream is deleted: everything in it has now
-- been read. When ZREM takes `unread` members, no add took one since the worker's last read and the stream
-- holds nothing new: the usual end of a wait (a timeout, a wake-up for a delayed job) skips the XRANGE and
-- the DEL.
local function unregisterWaiter(Q, consumer, registered, unread, from, out)
  local members = {}
  for slot = 1, registered do members[slot] = consumer .. '#' .. slot end
  if redis.call('ZREM', waitersKey(Q.base), unpack(members)) == unread then return 0 end
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


-- A claim's `wait` argument into Q: '<ms>' (0: no handoff), then ':<registered>:<unread>:<from>' to end the
-- last wait (unregisterWaiter).
local function readWait(Q, arg)
  local ms, registered, unread, from = string.match(arg, '^(%d+):?(%d*):?(%d*):?(.*)$')
  Q.wait = tonumber(ms) or 0
  if registered and registered ~= '' then Q.unwait, Q.unread, Q.from = tonumber(registered), tonumber(unread), from end
end

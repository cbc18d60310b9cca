-- settle: what every script that ends a delivery shares. A settle acknowledges each delivery with its own
-- XACK, which is also its fencing check (newAcks below); the trims and counters that follow are per stream
-- per call, and retention per rule per call: a batch of 100 costs about 115 commands (315 before format 2).
--@include status
--@include keys
--@include groups
--@include numbers
--@include xinfo
--@include locate
--@include history
--@include labels

-- Acknowledged entries are not deleted one by one: XDEL finds each entry by walking its stream node from
-- the start, which made it 12% of all Redis instructions of an add + process run (callgrind, 10,000 jobs).
-- Instead each flush trims the stream below its oldest pending entry (every entry below that one was
-- delivered, in id order, and acknowledged), which drops whole nodes at once. Until a trim reaches them
-- the acknowledged entries stay in the stream, counted in meta `acked<stream>` so waiting counts
-- (XLEN minus these minus the pending ones) stay exact. A job running for hours holds the trim point where
-- it is; past PINNED such entries, new ones are deleted at once again, so the stream never grows without
-- bound behind it.
local PINNED = 10000

-- The id right after `id` ('ms-seq'): the first id a trim must keep.
local function nextId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms .. '-' .. int(tonumber(seq) + 1)
end

-- The status of a delivery the caller no longer holds: LEASE_LOST while its job exists (it was taken back
-- and runs, or ran, elsewhere), CANCELLED when a person cancelled it (cancel.lua marks its hash `cxl`),
-- JOB_MISSING once it is gone (removed, or the queue obliterated).
local function lostStatus(base, group, streams, levels, id)
  local state = locate(base, group, streams, levels, id)
  if not state then return STATUS.JOB_MISSING end
  if state == 'failed' and redis.call('HEXISTS', jobKey(base, id), 'cxl') == 1 then return STATUS.CANCELLED end
  return STATUS.LEASE_LOST
end

-- Collects entry ids per stream (index into `streams`: levels, then admit); flush() acknowledges them
-- all and trims what is no longer needed.
--
-- take() is the fencing check of complete, fail and release: it acknowledges one delivery at once and says
-- whether the caller held it. A delivery is held while its entry is pending in the group: every path that
-- takes a delivery away (recover-stalled) acknowledges its entry in the same script, and every requeue
-- writes a new entry, so XACK's 1 or 0 is the answer, and the acknowledgement the settle needs anyway. One
-- XACK per job cost fewer Redis instructions than one XPENDING over the batch's range plus one XACK for
-- the batch (about 8,800 per job against 9,600 + 5,100, npm run bench:lua-costs).
local function newAcks(group, streams)
  local byLevel, counted = {}, {}
  local acks = {}
  -- The fencing check of one delivery of job `id`: OK when the caller held it (it is acknowledged now),
  -- LEASE_LOST or JOB_MISSING when not (lostStatus reads where the job went).
  function acks.settle(base, levels, id, level, entry)
    if acks.take(level, entry) then return STATUS.OK end
    return lostStatus(base, group, streams, levels, id)
  end
  function acks.add(level, entry)
    local list = byLevel[level]
    if not list then list = {}; byLevel[level] = list end
    list[#list + 1] = entry
  end
  function acks.take(level, entry)
    if redis.call('XACK', streams[level + 1], group, entry) == 0 then return false end
    local list = counted[level]
    if not list then list = {}; counted[level] = list end
    list[#list + 1] = entry
    return true
  end
  local function settle(metaKey, level, list, acked)
    local key, field = streams[level + 1], 'acked' .. int(level)
    local present = redis.call('HINCRBY', metaKey, field, int(acked))
    if present > PINNED then
      redis.call('XDEL', key, unpack(list))
      present = redis.call('HINCRBY', metaKey, field, int(-acked))
    end
    local oldest = redis.call('XPENDING', key, group, '-', '+', '1')[1]
    local keep
    if oldest then keep = oldest[1] else keep = nextId(lastDelivered(key, group)) end
    local trimmed = redis.call('XTRIM', key, 'MINID', '~', keep)
    if trimmed > 0 then redis.call('HINCRBY', metaKey, field, int(-trimmed)) end
  end
  function acks.flush(metaKey)
    for level, list in pairs(byLevel) do
      settle(metaKey, level, list, redis.call('XACK', streams[level + 1], group, unpack(list)))
    end
    for level, list in pairs(counted) do settle(metaKey, level, list, #list) end
  end
  return acks
end

-- Ends a batch: acknowledges and trims every collected entry, and takes the active count down by the
-- deliveries that settled. Returns meta `active` as the HINCRBY left it (active.lua: whether a claim waits
-- for a slot), or nil when nothing settled.
local function closeBatch(acks, metaKey, settled)
  acks.flush(metaKey)
  if settled > 0 then return redis.call('HINCRBY', metaKey, 'active', int(-settled)) end
  return nil
end

-- Lifetime totals of jobs that finished (meta `completed`, `failed`), for the metrics exporter, and the
-- same per minute (history.lua): one HINCRBY each per settle call, not per job, so a batch of 64 pays 1/64
-- of a command per job for each. Q: the script's base, meta and now (ms).
local function countFinished(Q, field, n)
  if n > 0 then
    redis.call('HINCRBY', Q.meta, field, int(n))
    countMinute(Q.base, Q.now, field, n)
  end
end

-- A delivery ended (settled or taken back): a grouped job gives its group's concurrency slot back.
local function endDelivery(Q, g)
  if g and g ~= '' then releaseSlot(Q, g) end
end

-- Deletes the hashes and logs of up to 1,000 jobs with one DEL (one per job cost a command each), and with
-- `done` their completed records (done.lua) with one HDEL.
local function dropJobs(base, ids, done)
  local keys = {}
  for i, id in ipairs(ids) do
    keys[2 * i - 1], keys[2 * i] = jobKey(base, id), logsKey(base, id)
  end
  redis.call('DEL', unpack(keys))
  if done then redis.call('HDEL', doneKey(base), unpack(ids)) end
end

-- Retention for a finished set (completed or failed), scored by finish time; `done`: the completed set,
-- whose jobs' records are in the done hash. count 0 never gets here (such jobs are deleted at once); -1
-- means no limit. Each call deletes at most 1,000 jobs per rule, so a lowered limit is caught up over a
-- few calls instead of blocking Redis once. The deleted jobs' label entries go too, behind the gate
-- (labels.lua): a queue without labeled jobs pays one HGET of meta per call that deletes, not per job, or
-- nothing when the call's Q already knows (a complete that claims reads it with its claim).
local function trimFinished(setKey, base, count, age, now, done, meta, Q)
  local phase = done and 'c' or 'f'
  if count > 0 then
    local excess = redis.call('ZCARD', setKey) - count
    if excess > 0 then
      if excess > 1000 then excess = 1000 end
      local ids = redis.call('ZRANGE', setKey, '0', int(excess - 1))
      dropJobs(base, ids, done)
      dropLabelsIf(base, meta, ids, phase, Q)
      redis.call('ZREMRANGEBYRANK', setKey, '0', int(excess - 1))
    end
  end
  if age >= 0 then
    local ids = redis.call('ZRANGEBYSCORE', setKey, '-inf', int(now - age * 1000), 'LIMIT', '0', '1000')
    if #ids > 0 then
      dropJobs(base, ids, done)
      dropLabelsIf(base, meta, ids, phase, Q)
      redis.call('ZREM', setKey, unpack(ids))
    end
  end
end

-- Applies each distinct retention rule of a batch once, after the batch's jobs were added to the set.
-- Rules are added as the ARGV strings they came in: a string key costs nothing to build per job, where
-- concatenating numbers formats each with sprintf.
local function newRetention()
  local rules = {}
  local r = {}
  function r.add(count, age)
    local rule = count .. ':' .. age
    if not rules[rule] then rules[rule] = { tonumber(count), tonumber(age) } end
  end
  function r.apply(setKey, base, now, done, meta, Q)
    for _, rule in pairs(rules) do trimFinished(setKey, base, rule[1], rule[2], now, done, meta, Q) end
  end
  return r
end

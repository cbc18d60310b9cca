-- settle: what every script that ends a delivery shares. Entries are acknowledged per stream per call,
-- not per job: a batch of 100 costs a handful of commands, not 200.
--@include status
--@include keys
--@include groups
--@include numbers
--@include xinfo

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

-- The group's last-delivered-id: with nothing pending, every entry up to it is settled. XINFO GROUPS is
-- O(1) with sluice's single group; it runs only when a flush leaves nothing pending on the stream.
local function lastDelivered(key, group)
  local info = groupInfo(key, group)
  return info and info['last-delivered-id'] or '0-0'
end

-- Collects entry ids per stream (index into `streams`: levels, then admit); flush() acknowledges them
-- all and trims what is no longer needed.
local function newAcks(group, streams)
  local byLevel = {}
  local acks = {}
  function acks.add(level, entry)
    local list = byLevel[level]
    if not list then list = {}; byLevel[level] = list end
    list[#list + 1] = entry
  end
  function acks.flush(metaKey)
    for level, list in pairs(byLevel) do
      local key, field = streams[level + 1], 'acked' .. int(level)
      local acked = redis.call('XACK', key, group, unpack(list))
      local present = redis.call('HINCRBY', metaKey, field, acked)
      if present > PINNED then
        redis.call('XDEL', key, unpack(list))
        present = redis.call('HINCRBY', metaKey, field, -acked)
      end
      local oldest = redis.call('XPENDING', key, group, '-', '+', 1)[1]
      local keep
      if oldest then keep = oldest[1] else keep = nextId(lastDelivered(key, group)) end
      local trimmed = redis.call('XTRIM', key, 'MINID', '~', keep)
      if trimmed > 0 then redis.call('HINCRBY', metaKey, field, -trimmed) end
    end
  end
  return acks
end

-- Reads the fields fencing needs. Returns the job's first `n` (4 to 7) fields of: state entry atm grp prio
-- stalls ats, when `entry` is still its live delivery, or nil and a status when it is not (the job is
-- gone, or it was reclaimed and handed to someone else). Each caller asks only for what it uses: every
-- field read is a reply element Lua has to build, and complete, the hot one, needs 4.
local OWNED_FIELDS = { 'state', 'entry', 'atm', 'grp', 'prio', 'stalls', 'ats' }
local function ownedJob(base, id, entry, n)
  local job = redis.call('HMGET', jobKey(base, id), unpack(OWNED_FIELDS, 1, n))
  if not job[1] then return nil, STATUS.JOB_MISSING end
  if job[1] ~= 'active' or job[2] ~= entry then return nil, STATUS.LEASE_LOST end
  return job, STATUS.OK
end

-- Ends a batch: acknowledges and trims every collected entry, and takes the active count down by the
-- deliveries that really settled (leftover entries are acknowledged but were never counted active).
-- Returns whether anything settled.
local function closeBatch(acks, metaKey, settled)
  acks.flush(metaKey)
  if settled > 0 then redis.call('HINCRBY', metaKey, 'active', -settled) end
  return settled > 0
end

-- Lifetime totals of jobs that finished (meta `completed`, `failed`), for the metrics exporter: one HINCRBY
-- per settle call, not per job, so a batch of 64 pays 1/64 of a command per job for them.
local function countFinished(metaKey, field, n)
  if n > 0 then redis.call('HINCRBY', metaKey, field, n) end
end

-- A delivery ended (settled or taken back): a grouped job gives its group's concurrency slot back.
local function endDelivery(Q, job)
  local g = job[4]
  if g and g ~= '' then releaseSlot(Q, g) end
end

-- Retention for a finished set (completed or failed), scored by finish time. count 0 never gets here
-- (such jobs are deleted at once); -1 means no limit. Each call deletes at most 1,000 jobs per rule, so a
-- lowered limit is caught up over a few calls instead of blocking Redis once.
local function trimFinished(setKey, base, count, age, now)
  if count > 0 then
    local excess = redis.call('ZCARD', setKey) - count
    if excess > 0 then
      if excess > 1000 then excess = 1000 end
      local ids = redis.call('ZRANGE', setKey, 0, excess - 1)
      for _, id in ipairs(ids) do redis.call('DEL', jobKey(base, id), logsKey(base, id)) end
      redis.call('ZREMRANGEBYRANK', setKey, 0, excess - 1)
    end
  end
  if age >= 0 then
    local ids = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - age * 1000, 'LIMIT', 0, 1000)
    if #ids > 0 then
      for _, id in ipairs(ids) do redis.call('DEL', jobKey(base, id), logsKey(base, id)) end
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
  function r.apply(setKey, base, now)
    for _, rule in pairs(rules) do trimFinished(setKey, base, rule[1], rule[2], now) end
  end
  return r
end

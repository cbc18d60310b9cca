-- entry: a job that waits on a stream or runs is its stream entry, payload and all. No hash is read or
-- written for it on the way from add to its settle: a claim's XREADGROUP hands the worker everything, and
-- settle scripts take back from the worker what they write. src/redis/entries.ts reads the same layouts.
--
-- Entry ids are "<n>-0", n from the queue's id counter: they rise across every stream of the queue (an
-- XADD with an explicit id must be above the stream's last one) and are unique across its streams.
--
-- Two layouts, with the field names of job-fields.lua:
--   fresh: FRESH_FIELDS (name data opts ts)
--          a job added ready with a generated id: its id is n of its entry id, its priority the stream's
--          level, nothing started or made yet. Found by id at "<id>-0" on the level streams, so it needs no
--          index: the cheapest job there is (one XADD to add it, in add.lua).
--   full:  FULL_FIELDS (id name data opts ts prio grp ats atm stalls ready), then err and stack after a
--          failed attempt
--          every other entry (a jobId given, a requeue, a grouped admission); the job's hash then records
--          where it is (record.lua, state 'queued').
--@include numbers
--@include job-fields

-- The id of the next entry of the queue, from its id counter.
local function nextEntryId(idKey)
  return int(redis.call('INCRBY', idKey, 1)) .. '-0'
end

-- Appends job `j` in the full layout on stream `key` as entry `entry` (nextEntryId); `readyAt` (ms, a
-- string) is when it became ready. `j` has passed jobProblem, or was built by the script from its ARGV.
-- The names are written out rather than looped over FULL_FIELDS: test/unit/job-fields.test.ts checks them.
local function appendJob(key, entry, j, readyAt)
  if j.err then
    redis.call('XADD', key, entry, 'id', j.id, 'name', j.name, 'data', j.data, 'opts', j.opts, 'ts', j.ts, 'prio', j.prio,
      'grp', j.grp or '', 'ats', j.ats, 'atm', j.atm, 'stalls', j.stalls, 'ready', readyAt, 'err', j.err, 'stack', j.stack or '')
  else
    redis.call('XADD', key, entry, 'id', j.id, 'name', j.name, 'data', j.data, 'opts', j.opts, 'ts', j.ts, 'prio', j.prio,
      'grp', j.grp or '', 'ats', j.ats, 'atm', j.atm, 'stalls', j.stalls, 'ready', readyAt)
  end
end

-- The job an entry holds, as the table appendJob takes; fields it lacks stay nil (jobProblem says so).
-- `level` is the stream's index: the priority of a fresh entry, which only level streams hold.
local function entryJob(entry, fields, level)
  local j = {}
  for i = 1, #fields, 2 do j[fields[i]] = fields[i + 1] end
  if not j.id and string.match(entry, '^%d+%-0$') then
    -- No id field: a fresh entry, whose id is its entry's number.
    j.id, j.prio, j.grp, j.ats, j.atm, j.stalls = string.sub(entry, 1, -3), int(level), '', '0', '0', '0'
  end
  return j
end

-- The job id and the attempt a delivery of this entry starts, without reading all its fields: the full
-- layout has them at fixed places (job-fields.lua); a fresh entry is its job's first attempt. A corrupt entry gives its
-- entry id or attempt 1 rather than an error: its worker fails it (src/redis/entries.ts).
local function entryIdAndAttempt(entry, fields)
  if fields[1] == 'id' then return fields[2], (tonumber(fields[FULL_ATS_AT]) or 0) + 1 end
  return string.sub(entry, 1, -3), 1
end

-- When the job of an entry became ready (ms): `ready` of the full layout, `ts` of a fresh one; nil for an
-- entry that has neither where it should.
local function entryReadyAt(fields)
  if fields[1] == 'id' then return tonumber(fields[FULL_READY_AT]) end
  return tonumber(fields[8])
end

-- entry: a job that waits on a stream or runs is its stream entry, payload and all. No hash is read or
-- written for it on the way from add to its settle: a claim's XREADGROUP hands the worker everything, and
-- settle scripts take back from the worker what they write. src/redis/entries.ts reads the same layouts;
-- test/unit/entries.test.ts checks the two agree.
--
-- Entry ids are "<n>-0", n from the queue's id counter: they rise across every stream of the queue (an
-- XADD with an explicit id must be above the stream's last one) and are unique across its streams.
--
-- Two layouts:
--   fresh: n <name> d <data> o <opts> t <created ms>
--          a job added ready with a generated id: its id is n of its entry id, its priority the stream's
--          level, nothing started or made yet. Found by id at "<id>-0" on the level streams, so it needs no
--          index: the cheapest job there is (one XADD to add it).
--   full:  id <id> n <name> d <data> o <opts> t <created ms> p <prio> g <group> a <started> m <made>
--          s <stalls> r <ready ms> [err <reason> stk <stack>]
--          every other entry (a jobId given, a requeue, a grouped admission); the job's hash then records
--          where it is (record.lua, state 'queued').
--@include numbers

-- The id of the next entry of the queue, from its id counter.
local function nextEntryId(idKey)
  return int(redis.call('INCRBY', idKey, 1)) .. '-0'
end

-- Appends job `j` (strings: id name data opts ts prio grp ats atm stalls, optional err stack) in the full
-- layout on stream `key` as entry `entry` (nextEntryId); `readyAt` (ms, a string) is when it became ready.
local function appendJob(key, entry, j, readyAt)
  if j.err then
    redis.call('XADD', key, entry, 'id', j.id, 'n', j.name, 'd', j.data, 'o', j.opts, 't', j.ts, 'p', j.prio, 'g', j.grp,
      'a', j.ats, 'm', j.atm, 's', j.stalls, 'r', readyAt, 'err', j.err, 'stk', j.stack or '')
  else
    redis.call('XADD', key, entry, 'id', j.id, 'n', j.name, 'd', j.data, 'o', j.opts, 't', j.ts, 'p', j.prio, 'g', j.grp,
      'a', j.ats, 'm', j.atm, 's', j.stalls, 'r', readyAt)
  end
end

-- The job an entry holds, as the table appendJob takes. `level` is the stream's index (its priority, for a
-- fresh entry, which only level streams hold).
local function entryJob(entry, fields, level)
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  if not f.id then
    return { id = string.sub(entry, 1, -3), name = f.n, data = f.d, opts = f.o, ts = f.t, prio = int(level), grp = '',
      ats = '0', atm = '0', stalls = '0' }
  end
  return { id = f.id, name = f.n, data = f.d, opts = f.o, ts = f.t, prio = f.p, grp = f.g, ats = f.a, atm = f.m,
    stalls = f.s, err = f.err, stack = f.stk }
end

-- The job id and the attempt a delivery of this entry starts, without reading all its fields: the full
-- layout has them at fixed places (appendJob writes `a` as the 8th pair); a fresh entry is its job's first.
local function entryIdAndAttempt(entry, fields)
  if fields[1] == 'id' then return fields[2], tonumber(fields[16]) + 1 end
  return string.sub(entry, 1, -3), 1
end

-- When the job of an entry became ready (ms): `r` of the full layout (its 11th pair), `t` of a fresh one.
local function entryReadyAt(fields)
  if fields[1] == 'id' then return tonumber(fields[22]) end
  return tonumber(fields[8])
end

-- done: retained completed jobs, kept compactly in one hash per queue (keys.lua doneKey): job id -> the
-- record its worker wrote at completion (src/redis/done-record.ts writes it and reads it back): parts of a
-- 4-byte big-endian length and that many bytes, named and ordered by RECORD_PARTS (job-fields.lua): name
-- data opts ts prio grp ats atm pon rv err stack (err and stack empty without an earlier failure), then
-- progress when there is one. complete writes a batch's records with one HSET: a field costs about 5,600
-- Redis instructions, where a 13-field hash per job took 18,200 and its retention DEL 4,300 more (npm run
-- bench:lua-costs). Its finish time is its score in the completed set.
--@include keys
--@include job-fields

-- What revive needs of a completed job (the first six parts), as the table appendJob takes, or nil when it
-- has no record. A record too short for them reads as a job without fields: jobProblem names it.
local function doneJob(base, id)
  local record = redis.call('HGET', doneKey(base), id)
  if not record then return nil end
  local ok, name, data, opts, ts, prio, grp = pcall(struct.unpack, '>I4c0I4c0I4c0I4c0I4c0I4c0', record)
  if not ok then return { id = id } end
  return { id = id, name = name, data = data, opts = opts, ts = ts, prio = prio, grp = grp, ats = '0', atm = '0', stalls = '0' }
end

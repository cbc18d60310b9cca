-- view: what the inspection scripts (get-job, get-jobs) return for one job, in one shape for its three
-- homes: {id, state, stream, entry, fields, progress}; see get-job.lua.
--@include keys
local function jobView(base, id, state, index, entry, fields)
  if index then
    -- A job on a stream keeps only its progress in its hash (progress.lua makes one when it has none).
    return { id, state, index, entry, fields, redis.call('HGET', jobKey(base, id), 'progress') }
  end
  return { id, state, -1, '', redis.call('HGETALL', jobKey(base, id)), false }
end

-- A completed job: its record from the done hash, and its finish time (its score in the completed set) in
-- the place of an entry id. Progress recorded after it completed is in its hash.
local function doneView(base, id, finished)
  local record = redis.call('HGET', doneKey(base), id)
  if not record then return nil end
  return { id, 'completed', -2, finished, record, redis.call('HGET', jobKey(base, id), 'progress') }
end

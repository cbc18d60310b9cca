-- labels: the label index (the `labels` job option, src/labels.ts). Only jobs with labels have entries:
--   labels:of        hash, job id -> its labels joined by '\n' (what every other piece reads a job's labels from)
--   label:<l>:<ph>   sorted set per label and phase: 'q' unfinished (waiting, delayed, active; score = when it
--                    was added or sent back), 'c' completed and 'f' failed (score = finish time, as in the
--                    completed and failed sets)
--   labels           sorted set, label -> how many jobs carry it: what the dashboard lists, and what obliterate
--                    walks to find the per-label keys
--   meta `labeled`   how many jobs are in labels:of: the gate of the paths no worker flags (retention, remove,
--                    retry, cancel, stalls), read once per call, so a queue whose jobs have no labels never
--                    touches an index key
-- Moving between waiting, delayed and active writes nothing here: claim and promotion stay as they are, and
-- a read of a label's unfinished jobs checks each one's state (find-jobs.lua).
--@include keys

-- A state as the index files it: 'q', 'c' or 'f'.
local function labelPhase(state)
  if state == 'completed' then return 'c' end
  if state == 'failed' then return 'f' end
  return 'q'
end

-- Whether any job of the queue has labels (meta `labeled` > 0). `Q`, when given, keeps the answer for the
-- rest of the call.
local function labelsInUse(metaKey, Q)
  if Q and Q.labeled ~= nil then return Q.labeled end
  local n = redis.call('HGET', metaKey, 'labeled')
  local used = n ~= false and n ~= '0'
  if Q then Q.labeled = used end
  return used
end

-- Indexes job `id`, added with labels `text` ('' for none), as unfinished, scored `score` (ms).
local function indexLabels(base, metaKey, id, text, score)
  if text == '' then return end
  if redis.call('HSET', labelsOfKey(base), id, text) == 1 then redis.call('HINCRBY', metaKey, 'labeled', 1) end
  local registry = labelsKey(base)
  for label in string.gmatch(text, '[^\n]+') do
    if redis.call('ZADD', labelKey(base, label, 'q'), score, id) == 1 then redis.call('ZINCRBY', registry, 1, label) end
  end
end

-- Moves job `id`'s entries from phase `from` to phase `to`, scored `score`; a job without labels has none.
local function moveLabels(base, id, from, to, score)
  local text = redis.call('HGET', labelsOfKey(base), id)
  if not text then return end
  for label in string.gmatch(text, '[^\n]+') do
    redis.call('ZREM', labelKey(base, label, from), id)
    redis.call('ZADD', labelKey(base, label, to), score, id)
  end
end

-- Jobs `ids` were deleted: their entries go (from `phase`, or from every phase when nil), and labels no job
-- carries any more leave the registry.
local function dropLabels(base, metaKey, ids, phase)
  local texts = redis.call('HMGET', labelsOfKey(base), unpack(ids))
  local registry, gone = labelsKey(base), {}
  for i = 1, #ids do
    local text = texts[i]
    if text then
      local id = ids[i]
      gone[#gone + 1] = id
      for label in string.gmatch(text, '[^\n]+') do
        if phase then
          redis.call('ZREM', labelKey(base, label, phase), id)
        else
          redis.call('ZREM', labelKey(base, label, 'q'), id)
          redis.call('ZREM', labelKey(base, label, 'c'), id)
          redis.call('ZREM', labelKey(base, label, 'f'), id)
        end
        if tonumber(redis.call('ZINCRBY', registry, -1, label)) <= 0 then redis.call('ZREM', registry, label) end
      end
    end
  end
  if #gone > 0 then
    redis.call('HDEL', labelsOfKey(base), unpack(gone))
    redis.call('HINCRBY', metaKey, 'labeled', -#gone)
  end
end

-- The same behind the gate, for the paths where nothing says whether the jobs have labels.
local function moveLabelsIf(base, metaKey, id, from, to, score, Q)
  if labelsInUse(metaKey, Q) then moveLabels(base, id, from, to, score) end
end
local function dropLabelsIf(base, metaKey, ids, phase, Q)
  if #ids > 0 and labelsInUse(metaKey, Q) then dropLabels(base, metaKey, ids, phase) end
end

-- A job its worker flagged as labeled finished for good in phase `to` ('c' or 'f') at `score`: its entries
-- move there, or go with it when its retention keeps none (keepCount '0').
local function finishLabels(base, metaKey, id, keepCount, to, score)
  if keepCount == '0' then dropLabels(base, metaKey, { id }, 'q') else moveLabels(base, id, 'q', to, score) end
end

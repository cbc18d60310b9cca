-- keys: per-job key names. Mirrors src/keys.ts (JOB and LOGS); test/unit/keys.test.ts checks they agree.
local function jobKey(base, id) return base .. 'job:' .. id end
local function logsKey(base, id) return base .. 'logs:' .. id end

-- The wait streams are the trailing KEYS of every script that takes them, level 0 first.
local function waitKeys(first)
  local keys = {}
  for i = first, #KEYS do keys[#keys + 1] = KEYS[i] end
  return keys
end

-- xinfo: XINFO replies (flat name, value, name, value ... arrays) read by field name.
local function xinfoFields(flat)
  local fields = {}
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  return fields
end

-- One consumer group's XINFO GROUPS fields (pending, last-delivered-id, ...), or nil when the stream has
-- no such group. O(1) for sluice's streams, which have one group each.
local function groupInfo(key, group)
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local fields = xinfoFields(info)
    if fields['name'] == group then return fields end
  end
  return nil
end

-- The group's last-delivered-id ('0-0' without the group): every entry above it was never handed out. The
-- stream must exist (XINFO refuses a missing key). O(1) with sluice's single group.
local function lastDelivered(key, group)
  local info = groupInfo(key, group)
  return info and info['last-delivered-id'] or '0-0'
end

-- Shared by the weights scripts: reads a weights key as canonical text (see canonicalStored in
-- stored-weights.ts) and as a field -> stored text table. Stored values stay text: whatever an
-- operator typed (`inf`, `nan`, a 400-digit number) must never make a write, the rollback
-- included, fail. Only a weight as the service writes it becomes a JSON number in an audit event;
-- anything else is recorded as the text it was.
-- MAX_WEIGHT is defined by the loader (src/store/lua.ts) from the splits schema.

local function is_weight(v)
  return #v <= 7 and (v == '0' or string.match(v, '^[1-9][0-9]*$') ~= nil) and tonumber(v) <= MAX_WEIGHT
end

local function canonical_line(f, v)
  return #f .. ':' .. f .. '=' .. #v .. ':' .. v .. '\n'
end

local function read_weights(key)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return '', nil end
  if t ~= 'hash' then return '!' .. t, nil end
  local flat = redis.call('HGETALL', key)
  local fields = {}
  for i = 1, #flat, 2 do fields[#fields + 1] = flat[i] end
  table.sort(fields)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  local parts = {}
  for _, f in ipairs(fields) do parts[#parts + 1] = canonical_line(f, map[f]) end
  return table.concat(parts), map
end

-- Weights for an audit event: a weight as a number, any other stored text as that text.
local function weights_json(map)
  local out = {}
  for f, v in pairs(map) do
    if is_weight(v) then out[f] = tonumber(v) else out[f] = v end
  end
  return cjson.encode(out)
end

-- The field -> text table of a canonical text; nil when it is not one (e.g. an older format).
local function decode_canonical(canon)
  local out = {}
  local i = 1
  while i <= #canon do
    local c1 = string.find(canon, ':', i, true)
    if not c1 then return nil end
    local n = tonumber(string.sub(canon, i, c1 - 1))
    if not n then return nil end
    local f = string.sub(canon, c1 + 1, c1 + n)
    local j = c1 + n + 1
    if string.sub(canon, j, j) ~= '=' then return nil end
    local c2 = string.find(canon, ':', j + 1, true)
    if not c2 then return nil end
    local m = tonumber(string.sub(canon, j + 1, c2 - 1))
    if not m then return nil end
    local v = string.sub(canon, c2 + 1, c2 + m)
    if string.sub(canon, c2 + m + 1, c2 + m + 1) ~= '\n' then return nil end
    out[f] = v
    i = c2 + m + 2
  end
  return out
end

local function canonical_to_json(canon)
  if canon == '' or string.sub(canon, 1, 1) == '!' then return '' end
  local map = decode_canonical(canon)
  if map == nil then return '' end
  return weights_json(map)
end

local function record_external(weights_key, events_key, recorded_key, maxlen)
  local canon, map = read_weights(weights_key)
  local recorded = redis.call('GET', recorded_key) or ''
  if recorded == canon then return canon, map, nil end
  local after = ''
  if map ~= nil then after = weights_json(map) end
  local id = redis.call('XADD', events_key, 'MAXLEN', '~', maxlen, '*',
    'action', 'external', 'source', 'external', 'actor', 'external', 'reason',
    'changed outside the service', 'before', canonical_to_json(recorded), 'after', after,
    'details', '')
  redis.call('SET', recorded_key, canon)
  return canon, map, id
end

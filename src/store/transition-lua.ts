/**
 * One rollout transition as one atomic, fenced step inside Redis: the split's weights, their audit
 * event and the rollout state are written together or not at all, so no reader ever sees weights
 * without the state that explains them (or the reverse).
 *
 * Stored weight values are treated as opaque text here: they are compared, copied and quoted, never
 * turned into numbers, so whatever a hand-edit left in the hash (`inf`, `nan`, 400 digits) cannot
 * make the write fail, and a rollback always goes through.
 *
 * KEYS: weights, events, recorded, lease, state.
 * ARGV: 1 fence token ('' = none), 2 expected state revision ('0' = absent),
 *   3 expected weights ('*' = any; else '' = key absent, '!' = not a hash, or the JSON object of
 *   the hash's fields exactly as read), 4 write weights ('1' / '0'), 5 audit maxlen, 6 action,
 *   7 source, 8 actor, 9 reason, 10 details JSON ('' = none), 11 status, 12 step, 13 state JSON,
 *   then field/value pairs of the new weights sorted by field.
 * Returns {'OK', revision, event id or '', external event id or '', weights before as JSON or ''},
 *   {'FENCED'}, {'CONFLICT', revision} or {'PRECONDITION'}.
 */
export const ROLLOUT_TRANSITION = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[1] then return {'FENCED'} end
local rev = tonumber(redis.call('HGET', KEYS[5], 'revision') or '0')
if tonumber(ARGV[2]) ~= rev then return {'CONFLICT', rev} end

local kind = redis.call('TYPE', KEYS[1])['ok']
local flat = {}
if kind == 'hash' then flat = redis.call('HGETALL', KEYS[1]) end
local map = {}
local fields = {}
for i = 1, #flat, 2 do
  map[flat[i]] = flat[i + 1]
  fields[#fields + 1] = flat[i]
end
table.sort(fields)

if ARGV[3] ~= '*' then
  local same
  if ARGV[3] == '' then same = (kind == 'none')
  elseif ARGV[3] == '!' then same = (kind ~= 'none' and kind ~= 'hash')
  elseif kind ~= 'hash' then same = false
  else
    local want = cjson.decode(ARGV[3])
    local n = 0
    same = true
    for f, v in pairs(want) do
      n = n + 1
      if map[f] ~= v then same = false end
    end
    if n ~= #fields then same = false end
  end
  if not same then return {'PRECONDITION'} end
end

-- Canonical text (sorted field=value lines) and a JSON object that quotes anything that is not a
-- plain small integer, so no stored value can break the encoding.
local function canonical()
  if kind == 'none' then return '' end
  if kind ~= 'hash' then return '!' .. kind end
  local parts = {}
  for _, f in ipairs(fields) do parts[#parts + 1] = f .. '=' .. map[f] .. '\\n' end
  return table.concat(parts)
end
local function json_of(m, keys)
  local parts = {}
  for _, f in ipairs(keys) do
    local v = m[f]
    if string.match(v, '^[0-9]+$') and #v <= 15 then
      parts[#parts + 1] = cjson.encode(f) .. ':' .. v
    else
      parts[#parts + 1] = cjson.encode(f) .. ':' .. cjson.encode(v)
    end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local before = ''
if kind == 'hash' then before = json_of(map, fields) end
local id = ''
local external_id = ''
if ARGV[4] == '1' then
  local canon = canonical()
  local recorded = redis.call('GET', KEYS[3])
  if recorded ~= false and recorded ~= canon then
    external_id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
      'action', 'external', 'source', 'external', 'actor', 'external', 'reason',
      'changed outside the service', 'before', '', 'after', before, 'details', '')
  end
  local new_fields = {}
  local new_map = {}
  local pairs_out = {}
  local parts = {}
  for i = 14, #ARGV, 2 do
    new_fields[#new_fields + 1] = ARGV[i]
    new_map[ARGV[i]] = ARGV[i + 1]
    pairs_out[#pairs_out + 1] = ARGV[i]
    pairs_out[#pairs_out + 1] = ARGV[i + 1]
    parts[#parts + 1] = ARGV[i] .. '=' .. ARGV[i + 1] .. '\\n'
  end
  -- The event first: it is the only call here that can fail (a key of the wrong type), and a
  -- failure must leave the hash and the state untouched.
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
    'action', ARGV[6], 'source', ARGV[7], 'actor', ARGV[8], 'reason', ARGV[9],
    'before', before, 'after', json_of(new_map, new_fields), 'details', ARGV[10])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], unpack(pairs_out))
  redis.call('SET', KEYS[3], table.concat(parts))
end

rev = rev + 1
redis.call('HSET', KEYS[5], 'revision', rev, 'status', ARGV[11], 'step', ARGV[12], 'state', ARGV[13])
return {'OK', rev, id, external_id, before}
`;

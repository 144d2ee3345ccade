/**
 * Lua run inside Redis. Each script is one atomic step: no other client sees a hash without its
 * audit event, or an event without its hash.
 */

/** Reads a weights key as canonical text (see canonicalStored) and as a field -> weight table. */
const READ = `
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
  local out = {}
  for _, f in ipairs(fields) do
    parts[#parts + 1] = f .. '=' .. map[f] .. '\\n'
    out[f] = tonumber(map[f]) or map[f]
  end
  return table.concat(parts), out
end

local function canonical_to_json(canon)
  if canon == '' or string.sub(canon, 1, 1) == '!' then return '' end
  local out = {}
  for f, v in string.gmatch(canon, '([^\\n=]+)=([^\\n]*)\\n') do out[f] = tonumber(v) or v end
  return cjson.encode(out)
end

local function record_external(weights_key, events_key, recorded_key, maxlen)
  local canon, map = read_weights(weights_key)
  local recorded = redis.call('GET', recorded_key) or ''
  if recorded == canon then return canon, map, nil end
  local after = ''
  if map ~= nil then after = cjson.encode(map) end
  local id = redis.call('XADD', events_key, 'MAXLEN', '~', maxlen, '*',
    'action', 'external', 'source', 'external', 'actor', 'external', 'reason',
    'changed outside the service', 'before', canonical_to_json(recorded), 'after', after,
    'details', '')
  redis.call('SET', recorded_key, canon)
  return canon, map, id
end
`;

/**
 * KEYS: weights, events, recorded, lease. ARGV: ifMatch ('' = any), maxlen, action, source, actor,
 * reason, details, fence token ('' = none), then field/value pairs sorted by field.
 * Returns {'OK', etag, event id, external event id or ''}, {'PRECONDITION', etag} or {'FENCED'}.
 */
export const WRITE_WEIGHTS = `${READ}
if ARGV[8] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[8] then return {'FENCED'} end
local canon0 = read_weights(KEYS[1])
if ARGV[1] ~= '' and ARGV[1] ~= redis.sha1hex(canon0) then
  return {'PRECONDITION', redis.sha1hex(canon0)}
end
local canon, map, external_id = record_external(KEYS[1], KEYS[2], KEYS[3], ARGV[2])
local before = ''
if map ~= nil then before = cjson.encode(map) end
local fields = {}
local parts = {}
local after = {}
for i = 9, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  parts[#parts + 1] = ARGV[i] .. '=' .. ARGV[i + 1] .. '\\n'
  after[ARGV[i]] = tonumber(ARGV[i + 1])
end
local new_canon = table.concat(parts)
-- The event first: it is the only call that can fail (a key of the wrong type), and a failure
-- must leave the hash untouched. DEL, HSET and SET below cannot fail.
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'action', ARGV[3], 'source', ARGV[4], 'actor', ARGV[5], 'reason', ARGV[6],
  'before', before, 'after', cjson.encode(after), 'details', ARGV[7])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SET', KEYS[3], new_canon)
return {'OK', redis.sha1hex(new_canon), id, external_id or ''}
`;

/**
 * KEYS: weights, events, recorded. ARGV: maxlen.
 * Records a change made outside the service exactly once, however many replicas notice it.
 * Returns {'RECORDED', id} or {'UNCHANGED'}.
 */
export const RECORD_EXTERNAL = `${READ}
local _, _, id = record_external(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
if id == nil then return {'UNCHANGED'} end
return {'RECORDED', id}
`;

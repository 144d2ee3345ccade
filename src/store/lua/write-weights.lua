-- One weights write with its audit event, as one atomic step: no other client sees a hash
-- without its audit event, or an event without its hash.
-- KEYS: weights, events, recorded, fence key (any key when unfenced). ARGV: the If-Match condition ('' = any, '*' = the key
-- exists, else the space-separated strong tags that match; see ifMatchCondition), maxlen, action,
-- source, actor, reason, details, fence token ('' = none), then field/value pairs sorted by field.
-- Returns {'OK', etag, event id, external event id or ''}, {'PRECONDITION', etag} or {'FENCED'}.

--!include read.lua

if ARGV[8] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[8] then return {'FENCED'} end
local canon0 = read_weights(KEYS[1])
local tag0 = redis.sha1hex(canon0)
if ARGV[1] == '*' then
  if canon0 == '' then return {'PRECONDITION', tag0} end
elseif ARGV[1] ~= '' and string.find(' ' .. ARGV[1] .. ' ', ' ' .. tag0 .. ' ', 1, true) == nil then
  return {'PRECONDITION', tag0}
end
local canon, map, external_id = record_external(KEYS[1], KEYS[2], KEYS[3], ARGV[2])
local before = ''
if map ~= nil then before = weights_json(map) end
local fields = {}
local parts = {}
local after = {}
for i = 9, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  parts[#parts + 1] = canonical_line(ARGV[i], ARGV[i + 1])
  after[ARGV[i]] = ARGV[i + 1]
end
local new_canon = table.concat(parts)
-- The event first: it is the only call that can fail (a key of the wrong type), and a failure
-- must leave the hash untouched. DEL, HSET and SET below cannot fail.
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'action', ARGV[3], 'source', ARGV[4], 'actor', ARGV[5], 'reason', ARGV[6],
  'before', before, 'after', weights_json(after), 'details', ARGV[7])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SET', KEYS[3], new_canon)
return {'OK', redis.sha1hex(new_canon), id, external_id or ''}

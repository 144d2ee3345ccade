-- One rollout transition as one atomic, fenced step: the split's weights, their audit event and
-- the rollout state are written together or not at all, so no reader ever sees weights without
-- the state that explains them (or the reverse).
--
-- Stored weight values are treated as opaque text here: they are compared, copied and quoted,
-- never turned into numbers, so whatever a hand-edit left in the hash (`inf`, `nan`, 400 digits)
-- cannot make the write fail, and a rollback always goes through.
--
-- KEYS: weights, events, recorded, lease, state.
-- ARGV: 1 fence token ('' = none), 2 expected state revision ('0' = absent),
--   3 expected weights ('*' = any; else '' = key absent, '!' = not a hash, or the JSON object of
--   the hash's fields exactly as read), 4 write weights ('1' / '0'), 5 audit maxlen, 6 action,
--   7 source, 8 actor, 9 reason, 10 details JSON ('' = none), 11 status, 12 step, 13 state JSON,
--   then field/value pairs of the new weights sorted by field.
-- Returns {'OK', revision, event id or '', external event id or '', weights before as JSON or ''},
--   {'FENCED'}, {'CONFLICT', revision} or {'PRECONDITION'}.

--!include read.lua

if ARGV[1] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[1] then return {'FENCED'} end
local rev = tonumber(redis.call('HGET', KEYS[5], 'revision') or '0')
if tonumber(ARGV[2]) ~= rev then return {'CONFLICT', rev} end

local canon0, map = read_weights(KEYS[1])

if ARGV[3] ~= '*' then
  local same
  if ARGV[3] == '' then same = (canon0 == '')
  elseif ARGV[3] == '!' then same = (string.sub(canon0, 1, 1) == '!')
  elseif map == nil then same = false
  else
    local want = cjson.decode(ARGV[3])
    local n, m = 0, 0
    same = true
    for f, v in pairs(want) do
      n = n + 1
      if map[f] ~= v then same = false end
    end
    for _ in pairs(map) do m = m + 1 end
    if n ~= m then same = false end
  end
  if not same then return {'PRECONDITION'} end
end

local before = ''
if map ~= nil then before = weights_json(map) end
local id = ''
local external_id = ''
if ARGV[4] == '1' then
  -- A change nobody recorded (redis-cli) is recorded first, exactly as a plain write does.
  local _, _, ext = record_external(KEYS[1], KEYS[2], KEYS[3], ARGV[5])
  external_id = ext or ''
  local new_map = {}
  local pairs_out = {}
  local parts = {}
  for i = 14, #ARGV, 2 do
    new_map[ARGV[i]] = ARGV[i + 1]
    pairs_out[#pairs_out + 1] = ARGV[i]
    pairs_out[#pairs_out + 1] = ARGV[i + 1]
    parts[#parts + 1] = canonical_line(ARGV[i], ARGV[i + 1])
  end
  -- The event first: it is the only call here that can fail (a key of the wrong type), and a
  -- failure must leave the hash and the state untouched.
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
    'action', ARGV[6], 'source', ARGV[7], 'actor', ARGV[8], 'reason', ARGV[9],
    'before', before, 'after', weights_json(new_map), 'details', ARGV[10])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], unpack(pairs_out))
  redis.call('SET', KEYS[3], table.concat(parts))
end

rev = rev + 1
redis.call('HSET', KEYS[5], 'revision', rev, 'status', ARGV[11], 'step', ARGV[12], 'state', ARGV[13])
return {'OK', rev, id, external_id, before}

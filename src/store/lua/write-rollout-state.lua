-- Writes a rollout state without touching weights, fenced by the rollout lease.
-- KEYS: state, lease. ARGV: fence token ('' = none), expected revision ('' = any, '0' = absent),
-- status, step, state JSON. The hash keeps `status` and `step` beside the JSON so that
-- `HGET <key> status` answers an operator directly.
-- Returns {'OK', revision}, {'FENCED'} or {'CONFLICT', revision}.

if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'FENCED'} end
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then return {'CONFLICT', rev} end
rev = rev + 1
redis.call('HSET', KEYS[1], 'revision', rev, 'status', ARGV[3], 'step', ARGV[4], 'state', ARGV[5])
return {'OK', rev}

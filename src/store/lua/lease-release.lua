-- Gives the rollout lease up only while it still holds this replica's token.
-- KEYS: lease. ARGV: token. Returns 1 when deleted, 0 when another token holds it.

if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0

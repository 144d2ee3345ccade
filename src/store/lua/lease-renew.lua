-- Renews the rollout lease only while it still holds this replica's token (compare-and-expire).
-- KEYS: lease. ARGV: token, ttl in ms. Returns 1 when renewed, 0 when another token holds it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0

-- Records a change made outside the service exactly once, however many replicas notice it.
-- KEYS: weights, events, recorded. ARGV: maxlen.
-- Returns {'RECORDED', id} or {'UNCHANGED'}.

--!include read.lua

local _, _, id = record_external(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
if id == nil then return {'UNCHANGED'} end
return {'RECORDED', id}

-- Settles one request: corrects each subject's TPM bucket by the
-- difference between the estimate it was charged and the tokens really
-- used, and adds the request's cost to each budget counter.
--
-- KEYS: per subject, its TPM bucket and its budget counter.
-- ARGV: now (ms; unused: Redis's clock is used), refund (estimate - actual tokens; negative charges
-- more), cost (micro-dollars), window (ms), then per subject tpm, budget,
-- counter ttl (ms; 0 = none).
--
-- A budget counter that does not exist is left alone: seeding it reads the
-- request log, which holds this request's cost by then.
-- Redis's clock, not the replicas': their clocks may disagree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local refund = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
for i = 1, #KEYS / 2 do
  local tpm = tonumber(ARGV[4 + 3 * (i - 1) + 1])
  local budget = tonumber(ARGV[4 + 3 * (i - 1) + 2])
  local ttl = tonumber(ARGV[4 + 3 * (i - 1) + 3])
  local kb, ks = KEYS[2 * (i - 1) + 1], KEYS[2 * (i - 1) + 2]
  if tpm > 0 and refund ~= 0 then
    local b = redis.call('HMGET', kb, 'tokens', 'at')
    local tokens, at = tonumber(b[1]), tonumber(b[2])
    if tokens then
      local when = math.max(now, at)
      tokens = math.min(tpm, tokens + tpm * (when - at) / window)
      tokens = math.min(tpm, tokens + refund)
      redis.call('HSET', kb, 'tokens', tostring(tokens), 'at', when)
      redis.call('PEXPIRE', kb, 2 * window)
    end
  end
  if budget > 0 and cost ~= 0 and redis.call('EXISTS', ks) == 1 then
    redis.call('INCRBY', ks, cost)
    if ttl > 0 then
      redis.call('PEXPIRE', ks, ttl)
    end
  end
end
return 0

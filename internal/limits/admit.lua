-- Admits one request against every subject's limits, atomically.
--
-- KEYS: per subject, three keys: its RPM window (a sorted set of request
-- members scored by admission time in ms), its TPM bucket (a hash: tokens,
-- at), its budget counter for the current period (an integer of
-- micro-dollars).
-- ARGV: now (ms; unused: Redis's clock is used), member, estimate (tokens), window (ms), then per subject
-- rpm, tpm, budget (0 = none).
--
-- Returns {allowed, subject, kind, retry_ms, limit_req, remaining_req,
-- reset_req_ms, limit_tok, remaining_tok, reset_tok_ms}; allowed is 1, 0,
-- or -1 when the budget counter of subject is missing and must be seeded
-- (from the request log) before trying again. kind: 1 requests, 2 tokens,
-- 3 budget. Nothing is counted unless every subject allows the request.
-- Redis's clock, not the replicas': their clocks may disagree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[2]
local estimate = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local n = #KEYS / 3

local allowed, who, kind, retry = 1, 0, 0, 0
local lreq, rreq, sreq, ltok, rtok, stok = 0, 0, 0, 0, 0, 0
local buckets = {}

local function refuse(i, k, after)
  if allowed == 1 then
    allowed, who, kind, retry = 0, i - 1, k, after
  end
end

for i = 1, n do
  local rpm = tonumber(ARGV[4 + 3 * (i - 1) + 1])
  local tpm = tonumber(ARGV[4 + 3 * (i - 1) + 2])
  local budget = tonumber(ARGV[4 + 3 * (i - 1) + 3])
  local kw, kb, ks = KEYS[3 * (i - 1) + 1], KEYS[3 * (i - 1) + 2], KEYS[3 * (i - 1) + 3]

  if budget > 0 then
    local spent = redis.call('GET', ks)
    if not spent then
      return {-1, i - 1, 0, 0, 0, 0, 0, 0, 0, 0}
    end
    if tonumber(spent) >= budget then
      refuse(i, 3, 0)
    end
  end

  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', kw, '-inf', now - window)
    local count = redis.call('ZCARD', kw)
    local reset = 0
    if count > 0 then
      local oldest = redis.call('ZRANGE', kw, 0, 0, 'WITHSCORES')
      reset = tonumber(oldest[2]) + window - now
    end
    if count >= rpm then
      -- Passes when the request rpm places from the newest leaves.
      local nth = redis.call('ZRANGE', kw, count - rpm, count - rpm, 'WITHSCORES')
      refuse(i, 1, tonumber(nth[2]) + window - now)
    end
    local rem = rpm - count - 1
    if lreq == 0 or rem < rreq then
      lreq, rreq, sreq = rpm, math.max(rem, 0), reset
    end
  end

  if tpm > 0 then
    local b = redis.call('HMGET', kb, 'tokens', 'at')
    local tokens, at = tonumber(b[1]), tonumber(b[2])
    if not tokens then
      tokens, at = tpm, now
    end
    if now > at then
      tokens = math.min(tpm, tokens + tpm * (now - at) / window)
    end
    buckets[i] = tokens
    local need = math.min(estimate, tpm)
    if tokens < need then
      refuse(i, 2, math.ceil((need - tokens) * window / tpm))
    end
    local rem = math.floor(tokens - estimate)
    if ltok == 0 or rem < rtok then
      ltok, rtok, stok = tpm, math.max(rem, 0), math.ceil((tpm - (tokens - estimate)) * window / tpm)
    end
  end
end

if allowed == 1 then
  for i = 1, n do
    local rpm = tonumber(ARGV[4 + 3 * (i - 1) + 1])
    local tpm = tonumber(ARGV[4 + 3 * (i - 1) + 2])
    local kw, kb = KEYS[3 * (i - 1) + 1], KEYS[3 * (i - 1) + 2]
    if rpm > 0 then
      redis.call('ZADD', kw, now, member)
      redis.call('PEXPIRE', kw, window)
    end
    if tpm > 0 then
      -- Stored as a string: Lua numbers would be truncated to integers.
      redis.call('HSET', kb, 'tokens', tostring(buckets[i] - estimate), 'at', now)
      redis.call('PEXPIRE', kb, 2 * window)
    end
  end
end

return {allowed, who, kind, retry, lreq, rreq, sreq, ltok, rtok, stok}

-- Holds one request's reservation against every subject's TPM limit and
-- budget, atomically (see Counter.Reserve in limits.go for the rules).
--
-- KEYS: per subject, five keys:
--   1 its TPM log: a sorted set of "id|tokens" scored by admission time (ms)
--   2 the sum of the tokens in the log
--   3 its budget counter for the current period (micro-dollars)
--   4 its reservations in flight: a sorted set of "id|cost" scored by
--     expiry (ms), so that a crashed replica's reservations lapse on their own
--   5 the sum of the costs in flight
-- ARGV: id, tokens, cost, window (ms), ttl (ms), then per subject tpm and
-- budget (0 = none). Members are built from the ARGV strings, never from
-- Lua numbers, which would print large values in exponent form.
--
-- Returns {allowed, subject, kind, retry_ms, held, limit_tok,
-- remaining_tok, reset_tok_ms}; allowed is 1, 0, or -1 when the budget
-- counter of subject is missing and must be seeded (from the request log)
-- before trying again. kind: 2 tokens, 3 budget. Nothing is held unless
-- every subject allows the request. Redis's clock, not the replicas'.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local tokens = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local n = #KEYS / 5

-- amount is the number after the last '|' of a member.
local function amount(m)
  return tonumber(string.match(m, '|(%-?%d+)$')) or 0
end

-- trim drops the members of set scored at or below cutoff, takes their
-- amounts off the sum, and returns what is left in the set and the sum.
-- An empty set and its sum are deleted: nothing to keep, and no drift of
-- the sum outlives the set.
local function trim(set, sumkey, cutoff)
  local gone = redis.call('ZRANGEBYSCORE', set, '-inf', cutoff)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', set, '-inf', cutoff)
  end
  local count = redis.call('ZCARD', set)
  if count == 0 then
    redis.call('DEL', sumkey)
    return 0, 0
  end
  local freed = 0
  for _, m in ipairs(gone) do
    freed = freed + amount(m)
  end
  if freed ~= 0 then
    return count, redis.call('DECRBY', sumkey, freed)
  end
  return count, tonumber(redis.call('GET', sumkey) or '0')
end

local allowed, who, kind, retry, held = 1, 0, 0, 0, 0
local ltok, rtok, stok = 0, 0, 0

local function refuse(i, k, after, h)
  if allowed == 1 then
    allowed, who, kind, retry, held = 0, i - 1, k, after, h
  end
end

for i = 1, n do
  local tpm = tonumber(ARGV[5 + 2 * (i - 1) + 1])
  local budget = tonumber(ARGV[5 + 2 * (i - 1) + 2])
  local b = 5 * (i - 1)
  local klog, klogsum, kspent, kheld, kheldsum = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5]

  if budget > 0 then
    local spent = redis.call('GET', kspent)
    if not spent then
      return {-1, i - 1, 0, 0, 0, 0, 0, 0}
    end
    spent = tonumber(spent)
    local count, sum = trim(kheld, kheldsum, now)
    if spent >= budget then
      refuse(i, 3, 0, 0)
    elseif spent + sum + cost > budget and count > 0 then
      refuse(i, 3, 1000, 1)
    end
  end

  if tpm > 0 then
    local count, sum = trim(klog, klogsum, now - window)
    if sum + tokens > tpm and sum ~= 0 then
      -- Passes when enough of the log has left the window.
      local after = window
      local left = sum
      local entries = redis.call('ZRANGE', klog, 0, 999, 'WITHSCORES')
      for j = 1, #entries, 2 do
        left = left - amount(entries[j])
        if left + tokens <= tpm or left == 0 then
          after = tonumber(entries[j + 1]) + window - now
          break
        end
      end
      refuse(i, 2, after, 0)
    end
    local reset = window
    if count > 0 then
      local newest = redis.call('ZRANGE', klog, -1, -1, 'WITHSCORES')
      reset = tonumber(newest[2]) + window - now
    end
    local rem = tpm - sum - tokens
    if ltok == 0 or rem < rtok then
      ltok, rtok, stok = tpm, math.max(rem, 0), reset
    end
  end
end

if allowed == 1 then
  for i = 1, n do
    local tpm = tonumber(ARGV[5 + 2 * (i - 1) + 1])
    local budget = tonumber(ARGV[5 + 2 * (i - 1) + 2])
    local b = 5 * (i - 1)
    if budget > 0 then
      redis.call('ZADD', KEYS[b + 4], now + ttl, id .. '|' .. ARGV[3])
      redis.call('INCRBY', KEYS[b + 5], ARGV[3])
      redis.call('PEXPIRE', KEYS[b + 4], ttl)
      redis.call('PEXPIRE', KEYS[b + 5], ttl)
    end
    if tpm > 0 then
      redis.call('ZADD', KEYS[b + 1], now, id .. '|' .. ARGV[2])
      redis.call('INCRBY', KEYS[b + 2], ARGV[2])
      -- A log outlives its window by the longest request, so that a long
      -- request's settle still finds its entry.
      redis.call('PEXPIRE', KEYS[b + 1], window + ttl)
      redis.call('PEXPIRE', KEYS[b + 2], window + ttl)
    end
  end
end

return {allowed, who, kind, retry, held, ltok, rtok, stok}

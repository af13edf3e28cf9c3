-- Counts one request against every subject's RPM limit, atomically.
--
-- KEYS: per subject, its RPM window: a sorted set of request ids scored by
-- admission time (ms).
-- ARGV: member (the request's id), window (ms), then per subject its rpm
-- (0 = none).
--
-- Returns {allowed, subject, retry_ms, limit_req, remaining_req,
-- reset_req_ms}. Nothing is counted unless every subject allows the
-- request. Redis's clock, not the replicas': their clocks may disagree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local window = tonumber(ARGV[2])

local allowed, who, retry = 1, 0, 0
local lreq, rreq, sreq = 0, 0, 0

for i = 1, #KEYS do
  local rpm = tonumber(ARGV[2 + i])
  local kw = KEYS[i]
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', kw, '-inf', now - window)
    local count = redis.call('ZCARD', kw)
    local reset = 0
    if count > 0 then
      local oldest = redis.call('ZRANGE', kw, 0, 0, 'WITHSCORES')
      reset = tonumber(oldest[2]) + window - now
    end
    if count >= rpm and allowed == 1 then
      -- Passes when the request rpm places from the newest leaves.
      local nth = redis.call('ZRANGE', kw, count - rpm, count - rpm, 'WITHSCORES')
      allowed, who, retry = 0, i - 1, tonumber(nth[2]) + window - now
    end
    local rem = rpm - count - 1
    if lreq == 0 or rem < rreq then
      lreq, rreq, sreq = rpm, math.max(rem, 0), reset
    end
  end
end

if allowed == 1 then
  for i = 1, #KEYS do
    if tonumber(ARGV[2 + i]) > 0 then
      redis.call('ZADD', KEYS[i], now, member)
      redis.call('PEXPIRE', KEYS[i], window)
    end
  end
end

return {allowed, who, retry, lreq, rreq, sreq}

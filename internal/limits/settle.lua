-- Settles one request: releases its reservation, charges each subject's
-- TPM log the tokens it really used in place of those it reserved (at its
-- admission time, while that is in the window), and adds its cost to each
-- budget counter.
--
-- KEYS: per subject, the same five keys as reserve.lua.
-- ARGV: id, reserved tokens, reserved cost, tokens used, cost (micro-dollars),
-- then per subject its budget counter's ttl (ms; 0 = none, -1 = the subject
-- has no budget).
--
-- Reservations are released whatever the limits say now: an administrator
-- may have changed them while the request ran. A budget counter that does
-- not exist is left alone: seeding it reads the request log, which holds
-- this request's cost by then.
local id = ARGV[1]
local rtokens = ARGV[2]
local rcost = ARGV[3]
local tokens = ARGV[4]
local cost = tonumber(ARGV[5])
for i = 1, #KEYS / 5 do
  local ttl = tonumber(ARGV[5 + i])
  local b = 5 * (i - 1)
  local klog, klogsum, kspent, kheld, kheldsum = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5]

  local entry = id .. '|' .. rtokens
  local at = redis.call('ZSCORE', klog, entry)
  if at then
    redis.call('ZREM', klog, entry)
    redis.call('ZADD', klog, at, id .. '|' .. tokens)
    redis.call('INCRBY', klogsum, tonumber(tokens) - tonumber(rtokens))
  end

  if redis.call('ZREM', kheld, id .. '|' .. rcost) == 1 then
    redis.call('DECRBY', kheldsum, tonumber(rcost))
  end

  if ttl >= 0 and cost ~= 0 and redis.call('EXISTS', kspent) == 1 then
    redis.call('INCRBY', kspent, ARGV[5])
    if ttl > 0 then
      redis.call('PEXPIRE', kspent, ttl)
    end
  end
end
return 0

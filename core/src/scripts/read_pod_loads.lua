-- Reads every pod-state field of a service together with the Redis server's
-- clock, so that a router judges freshness against the clock that stamped the
-- records. Read only.
--
-- KEYS[1]  pod-state hash of the service
--
-- Returns {now in epoch milliseconds, {field, value, field, value, ...}}.
-- DATA when the key holds the wrong type.
local now = redis.call('TIME')
local millis = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return {millis, checked(KEYS[1], redis.pcall('HGETALL', KEYS[1]))}

-- Records a pod's load as LOAD-MILLIS-STATE, stamped with the Redis server's
-- clock so that freshness never depends on the clocks of the clients.
--
-- KEYS[1]  pod-state hash of the service
-- ARGV[1]  pod id, ARGV[2] load, ARGV[3] state (decimal integers)
--
-- Returns the timestamp written (epoch milliseconds). DATA when the key holds
-- the wrong type.
local now = redis.call('TIME')
local millis = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local record = ARGV[2] .. '-' .. string.format('%.0f', millis) .. '-' .. ARGV[3]
checked(KEYS[1], redis.pcall('HSET', KEYS[1], ARGV[1], record))
return millis

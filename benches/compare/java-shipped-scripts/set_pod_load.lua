-- No counterpart in the Java version's scripts (see README.md).
local now = redis.call('TIME')
local millis = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '-' .. string.format('%.0f', millis) .. '-' .. ARGV[3])
return millis

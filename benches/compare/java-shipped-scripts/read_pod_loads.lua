-- No counterpart in the Java version's scripts (see README.md).
local now = redis.call('TIME')
local millis = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return {millis, redis.call('HGETALL', KEYS[1])}

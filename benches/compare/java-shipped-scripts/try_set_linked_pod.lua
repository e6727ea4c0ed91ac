-- No counterpart in the Java version's scripts (see README.md): SET and the index.
local link, index = KEYS[1], KEYS[2]
local service, pod, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('SET', link, pod)
if ttl == -1 then
  redis.call('HSET', index, service, pod)
else
  redis.call('EXPIRE', link, ttl)
  redis.call('HDEL', index, service)
end
return {1, pod}

-- The commands of the Java version's set script: SET, then PERSIST + HSET or
-- EXPIRE + HDEL. It returns no previous pod.
local link, index = KEYS[1], KEYS[2]
local service, pod, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('SET', link, pod)
if ttl == -1 then
  redis.call('PERSIST', link)
  redis.call('HSET', index, service, pod)
else
  redis.call('EXPIRE', link, ttl)
  redis.call('HDEL', index, service)
end
return false

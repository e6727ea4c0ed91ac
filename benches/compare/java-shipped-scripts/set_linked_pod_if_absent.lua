-- The commands of the Java version's set-if-absent script: GET; when linked, TTL
-- and EXPIRE unless the link is persistent; else SET and HSET or EXPIRE.
local link, index = KEYS[1], KEYS[2]
local service, pod, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('GET', link)
if current then
  if redis.call('TTL', link) ~= -1 then
    redis.call('EXPIRE', link, ttl)
  end
  return current
end
if pod == '' then
  return false
end
redis.call('SET', link, pod)
if ttl == -1 then
  redis.call('HSET', index, service, pod)
else
  redis.call('EXPIRE', link, ttl)
end
return pod

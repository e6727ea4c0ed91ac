-- Links a uid to a pod unless a *persistent* link already points to another pod.
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name, ARGV[2] pod id, ARGV[3] persist (-1 or TTL seconds)
--
-- Returns {1, pod} when the link was set, {0, current pod} when it was refused.
local link, index = KEYS[1], KEYS[2]
local service, pod, persist = ARGV[1], ARGV[2], tonumber(ARGV[3])

local current = redis.call('GET', link)
if current then
  if not string.match(current, '^%d+$') then
    return redis.error_reply('DATA key ' .. link .. ' holds a link that is not a pod id')
  end
  -- PTTL -1: the link has no expiry, so it is persistent.
  if tonumber(current) ~= tonumber(pod) and redis.call('PTTL', link) == -1 then
    return {0, tonumber(current)}
  end
end

if persist == -1 then
  redis.call('SET', link, pod)
  redis.call('HSET', index, service, pod)
else
  redis.call('SET', link, pod, 'EX', persist)
  redis.call('HDEL', index, service)
end

return {1, tonumber(pod)}

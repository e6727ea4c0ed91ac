-- Links a uid to a pod only if it has no link for the service yet.
-- An existing link is kept and returned; a temporary one gets its TTL refreshed
-- to persist when persist > 0. An existing link is never deleted (a reference
-- version ran EXPIRE with -1 here, which deletes the key).
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name, ARGV[2] pod id, ARGV[3] persist (-1 or TTL seconds)
--
-- Returns the pod the uid is linked to after the call (integer).
local link, index = KEYS[1], KEYS[2]
local service, pod, persist = ARGV[1], ARGV[2], tonumber(ARGV[3])

local current = redis.call('GET', link)
if current then
  if not string.match(current, '^%d+$') then
    return redis.error_reply('DATA key ' .. link .. ' holds a link that is not a pod id')
  end
  if persist > 0 and redis.call('PTTL', link) > 0 then
    redis.call('EXPIRE', link, persist)
  end
  return tonumber(current)
end

if persist == -1 then
  redis.call('SET', link, pod)
  redis.call('HSET', index, service, pod)
else
  redis.call('SET', link, pod, 'EX', persist)
  redis.call('HDEL', index, service)
end

return tonumber(pod)

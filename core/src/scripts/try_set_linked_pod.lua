-- Links a uid to a pod unless a *persistent* link already points to another pod.
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name, ARGV[2] pod id, ARGV[3] persist (-1 or TTL seconds)
--
-- Returns {1, pod} when the link was set, {0, current pod} when it was refused
-- (pod ids as strings). DATA, with nothing written, as in set_linked_pod.
local link, index = KEYS[1], KEYS[2]
local service, pod, persist = ARGV[1], ARGV[2], ARGV[3]

local current = pod_of(link, checked(link, redis.pcall('GET', link)))
-- Both ids are canonical, so equal ids are equal strings. PTTL -1: the link
-- has no expiry, so it is persistent.
if current and current ~= pod and redis.call('PTTL', link) == -1 then
  return {0, current}
end

write_link(link, index, service, pod, persist)
return {1, pod}

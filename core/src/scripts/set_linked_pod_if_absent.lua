-- Links a uid to a pod only if it has no link for the service yet.
-- An existing link is kept and returned; a temporary one gets its TTL refreshed
-- to persist when persist > 0. An existing link is never deleted (a reference
-- version ran EXPIRE with -1 here, which deletes the key).
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name
-- ARGV[2]  pod id, or '' to only return (and refresh) an existing link: what
--          compute_linked_pod does before it reads the loads, so that it never
--          writes a pod it read in an earlier round trip
-- ARGV[3]  persist (-1 or TTL seconds, checked by the caller)
--
-- Returns the pod the uid is linked to after the call (string), or nil when
-- ARGV[2] is '' and there is no link. DATA, with nothing written, as in
-- set_linked_pod.
local link, index = KEYS[1], KEYS[2]
local service, pod, persist = ARGV[1], ARGV[2], ARGV[3]

local current = pod_of(link, checked(link, redis.pcall('GET', link)))
if current then
  if persist ~= '-1' then
    -- Refresh only a link that has a TTL: EXPIRE ... XX (Redis 7.0, which is
    -- also when REDIS_VERSION_NUM appeared) does that in one command.
    if redis.REDIS_VERSION_NUM then
      redis.call('EXPIRE', link, persist, 'XX')
    elseif redis.call('PTTL', link) > 0 then
      redis.call('EXPIRE', link, persist)
    end
  end
  return current
end
if pod == '' then
  return false
end

write_link(link, index, service, pod, persist)
return pod

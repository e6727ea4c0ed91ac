-- Reads a link only when it is persistent: the value and its TTL at one instant.
-- (A MULTI/EXEC of GET and PTTL does the same on one server, but a Redis Cluster
-- client cannot follow a MOVED reply inside EXEC; a script can be redirected.)
--
-- KEYS[1]  link key
--
-- Returns the pod id (string), or nil when there is no link or it has a TTL.
-- DATA when the link holds the wrong type or something that is not a pod id.
local link = KEYS[1]

local pod = pod_of(link, checked(link, redis.pcall('GET', link)))
if pod and redis.call('PTTL', link) == -1 then
  return pod
end
return false

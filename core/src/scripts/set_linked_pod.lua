-- Links a uid to a pod of a service and keeps the uid's index of persistent
-- links in step with it, atomically.
--
-- KEYS[1]  link key  (string: pod id; no TTL = persistent link)
-- KEYS[2]  index key (hash: service -> pod id, persistent links only)
-- ARGV[1]  service name (the index field)
-- ARGV[2]  pod id
-- ARGV[3]  persist: -1 = persistent, > 0 = TTL in seconds (checked by the caller)
--
-- Returns the previous pod id (string), or nil when there was no link.
-- DATA, with nothing written, when either key holds the wrong type or the link
-- holds something that is not a pod id.
--
-- Three commands, the fewest that keep "DATA means nothing written": the GET
-- (SET ... GET would write before the previous value could be checked), then
-- the index and the link (`write_link`, index first).
local link, index = KEYS[1], KEYS[2]
local service, pod, persist = ARGV[1], ARGV[2], ARGV[3]

local previous = pod_of(link, checked(link, redis.pcall('GET', link)))
write_link(link, index, service, pod, persist)
return previous

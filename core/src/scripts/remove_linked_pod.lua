-- Removes the link of a uid for a service, optionally only when it points to a
-- given pod. keep > 0 leaves the link readable as a temporary link for keep
-- seconds (a reference version deleted the key and then set an expiry on the
-- deleted key, so the link vanished at once). The index entry goes at once.
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name
-- ARGV[2]  keep: -1 = delete now, > 0 = expire after keep seconds
-- ARGV[3]  expected pod id, or '' to remove whatever the link holds
--
-- Returns 1 when a link was removed, 0 otherwise. DATA, with nothing written,
-- when either key holds the wrong type, or when a pod is expected and the link
-- holds something that is not a pod id. (Without an expected pod, a string
-- that is not a pod id is removed: that is how such a value is cleaned up.)
local link, index = KEYS[1], KEYS[2]
local service, keep, expected = ARGV[1], ARGV[2], ARGV[3]

-- The GET checks the link's type before anything is written.
local current = checked(link, redis.pcall('GET', link))
if expected ~= '' and current and pod_of(link, current) ~= expected then
  -- A link to another pod: nothing changes.
  return 0
end

-- The index entry goes: the link's, or a stale one when there is no link (the
-- index must hold exactly the persistent links). HDEL first, so an index of
-- the wrong type stops the script before the link is touched.
checked(index, redis.pcall('HDEL', index, service))
if not current then
  return 0
end

if keep == '-1' then
  redis.call('DEL', link)
else
  redis.call('EXPIRE', link, keep)
end
return 1

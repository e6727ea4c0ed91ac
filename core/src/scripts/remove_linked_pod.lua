-- Removes the link of a uid for a service, optionally only when it points to a
-- given pod. keep > 0 leaves the link readable as a temporary link for keep
-- seconds (a reference version deleted the key and then set an expiry on the
-- deleted key, so the link vanished at once). The index entry goes at once.
--
-- KEYS[1]  link key, KEYS[2] index key
-- ARGV[1]  service name
-- ARGV[2]  keep: -1 = delete now, > 0 = expire after keep seconds
-- ARGV[3]  expected pod id, or '' to remove whatever the link points to
--
-- Returns 1 when a link was removed, 0 otherwise.
local link, index = KEYS[1], KEYS[2]
local service, keep, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3]

if expected ~= '' then
  local current = redis.call('GET', link)
  if not current then
    return 0
  end
  if not string.match(current, '^%d+$') then
    return redis.error_reply('DATA key ' .. link .. ' holds a link that is not a pod id')
  end
  if tonumber(current) ~= tonumber(expected) then
    return 0
  end
elseif redis.call('EXISTS', link) == 0 then
  -- No link: drop a stale index entry, if any, so the index never lies.
  redis.call('HDEL', index, service)
  return 0
end

if keep == -1 then
  redis.call('DEL', link)
else
  redis.call('EXPIRE', link, keep)
end
-- Redis deletes the index hash when its last field goes.
redis.call('HDEL', index, service)
return 1

-- The commands of the Java version's remove script: DEL or EXPIRE of the link,
-- HDEL of the index field, HLEN, and DEL of an empty index. It always returns 1.
local link, index = KEYS[1], KEYS[2]
local service, keep = ARGV[1], tonumber(ARGV[2])
if keep == -1 then
  redis.call('DEL', link)
else
  redis.call('EXPIRE', link, keep)
end
redis.call('HDEL', index, service)
if redis.call('HLEN', index) == 0 then
  redis.call('DEL', index)
end
return 1

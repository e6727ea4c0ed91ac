-- Shared by every script: the core puts it in front of each one, after a first
-- line that defines MAX_POD (the largest pod id, as decimal text) from the one
-- constant that sets it in Rust (see core/src/scripts.rs).
--
-- Rules every script keeps with these helpers:
--   * every key and every value it will read is checked before its first write,
--     so an error means that nothing was written;
--   * pod ids stay strings: a Lua number is a double and cannot hold every id.
--
-- Cost: EVALSHA runs this whole chunk on every call, and each function defined
-- here is a new closure on every call (and garbage for the server's Lua GC).
-- Three helpers only, and the scripts inline the rest (docs/performance.md).

-- The reply of `redis.pcall(command, key, ...)`, returned as is unless it is an
-- error: WRONGTYPE becomes DATA naming the key, any other error is raised again.
local function checked(key, reply)
  if type(reply) == 'table' and reply.err then
    if string.sub(reply.err, 1, 9) == 'WRONGTYPE' then
      error({err = 'DATA key ' .. key .. ' holds a ' .. redis.call('TYPE', key).ok
        .. ', not the type this operation reads'})
    end
    error(reply)
  end
  return reply
end

-- `value` read from the link key `link` (a string, or false when there is no
-- link), returned when it is false or a pod id in canonical form: decimal
-- digits, no leading zero, at most MAX_POD (compared as text, exact at any
-- length). Anything else is DATA naming the key.
local function pod_of(link, value)
  if value and value ~= '0' and not (string.find(value, '^[1-9]%d*$')
      and (#value < #MAX_POD or (#value == #MAX_POD and value <= MAX_POD))) then
    error({err = 'DATA key ' .. link .. ' holds a link that is not a pod id'})
  end
  return value
end

-- Writes the link `link` to `pod` (`persist`: '-1', or a TTL in seconds) and
-- keeps the index of persistent links in step. The index goes first, so that an
-- index of the wrong type stops the script before its first write. (Redis
-- deletes an index hash when its last field goes.)
local function write_link(link, index, service, pod, persist)
  if persist == '-1' then
    checked(index, redis.pcall('HSET', index, service, pod))
    redis.call('SET', link, pod)
  else
    checked(index, redis.pcall('HDEL', index, service))
    redis.call('SET', link, pod, 'EX', persist)
  end
end

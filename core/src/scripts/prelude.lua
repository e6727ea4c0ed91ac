-- Shared by every script: the core puts it in front of each one, after a first
-- line that defines MAX_POD (the largest pod id, as decimal text) from the one
-- constant that sets it in Rust (see core/src/scripts.rs).
--
-- Rules every script keeps with these helpers:
--   * every key and every value it will read is checked before its first write,
--     so an error means that nothing was written;
--   * pod ids stay strings: a Lua number is a double and cannot hold every id.

-- Stops the script with a DATA error that names the key.
local function data_error(key, what)
  error({err = 'DATA key ' .. key .. ' ' .. what})
end

-- Runs a command on `key`; a key holding the wrong type is DATA naming the key.
local function call_on(key, command, ...)
  local reply = redis.pcall(command, key, ...)
  if type(reply) == 'table' and reply.err then
    if string.sub(reply.err, 1, 9) == 'WRONGTYPE' then
      data_error(key, 'holds a ' .. redis.call('TYPE', key).ok .. ', not the type this operation reads')
    end
    error(reply)
  end
  return reply
end

-- Whether `value` is a pod id in canonical form: decimal digits, no leading
-- zero, at most MAX_POD (compared as text, exact at any length).
local function is_pod(value)
  if not string.match(value, '^%d+$') then
    return false
  end
  if #value > 1 and string.sub(value, 1, 1) == '0' then
    return false
  end
  return #value < #MAX_POD or (#value == #MAX_POD and value <= MAX_POD)
end

-- The link at `link`: its pod id (a string), or nil. Anything else is DATA.
local function read_link(link)
  local pod = call_on(link, 'GET')
  if pod and not is_pod(pod) then
    data_error(link, 'holds a link that is not a pod id')
  end
  return pod
end

-- Writes the link and keeps the index of persistent links in step. The index
-- goes first: if it holds the wrong type, the script stops with nothing written.
-- (Redis deletes an index hash when its last field goes.)
local function write_link(link, index, service, pod, persist)
  if persist == -1 then
    call_on(index, 'HSET', service, pod)
    redis.call('SET', link, pod)
  else
    call_on(index, 'HDEL', service)
    redis.call('SET', link, pod, 'EX', persist)
  end
end

# Sourced: start and stop a private redis-server on a free loopback port, for the
# shell suites and benchmarks (nothing persisted, files in a directory of the
# caller's, with a redis.pid that .ci/run's cleanup uses; see private-root.sh).
#
#   private_redis_start DIR [CPU]   sets PORT, URL and REDIS_PID; waits for PING;
#                                   CPU pins the server with taskset
#   private_redis_stop              stops it (safe to call twice, or before start)

private_redis_start() {
  local dir cpu="${2:-}"
  dir="$(cd "$1" && pwd)"  # redis-server needs an absolute pidfile path
  local pin=()
  [ -n "$cpu" ] && pin=(taskset -c "$cpu")
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  URL="redis://127.0.0.1:$PORT"
  "${pin[@]}" redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 1 50); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$PORT" ping >/dev/null
}

private_redis_stop() {
  if [ -n "${REDIS_PID:-}" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  REDIS_PID=""
}

#!/usr/bin/env bash
# Per-call overhead of the C ABI over the Rust API for get_linked_pod, measured
# in one run against one private redis-server (pinned to CPU 0; clients pinned
# to CPU 1):
#   - bindings/c/bench/abi_overhead.rs: in one process, the Rust API
#     (BlockingExecutor::call) and the exported sr_get_linked_pod, interleaved
#     round by round: per-call medians and their ratio. Also a no-I/O path (an
#     empty uid, refused by the core's validation before any I/O), which shows
#     the cost of the boundary alone.
#   - bindings/c/bench/abi_overhead.c: sr_get_linked_pod called from C through
#     the shared library.
# Not part of CI (release build, ~1 minute of measuring).
#
#   bash benches/c_abi_overhead.sh [calls-per-round] [rounds]   (default 10000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-10000}"
ROUNDS="${2:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet -p stateful-redis-c --lib --example abi_overhead
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stateful-redis-bench-c-XXXXXX")"
REDIS_PID=""
cleanup() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
# The library under its public names (as the CMake install lays it out).
ABI=$(sed -n 's/.*SR_ABI_VERSION: u32 = \([0-9]*\);/\1/p' bindings/c/src/abi.rs)
cp "$CARGO_TARGET_DIR/release/libstateful_redis_c.so" "$WORK/libstateful_redis.so.$ABI"
ln -s "libstateful_redis.so.$ABI" "$WORK/libstateful_redis.so"
cc -O2 -Iinclude bindings/c/bench/abi_overhead.c -o "$WORK/abi_overhead_c" \
  -L"$WORK" -lstateful_redis -Wl,-rpath,"$WORK"

PORT=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  p=$(( 20000 + RANDOM % 40000 ))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
  taskset -c 0 redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 50); do
    redis-cli -p "$p" ping >/dev/null 2>&1 && { PORT=$p; break; }
    sleep 0.1
  done
  [ -n "$PORT" ] && break
  kill "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""
done
[ -n "$PORT" ] || { echo "cannot start redis-server" >&2; exit 1; }
URL="redis://127.0.0.1:$PORT"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) cores · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) · $(redis-server --version | cut -d' ' -f3)"
echo "# calls per round: $CALLS, rounds: $ROUNDS"
taskset -c 1 "$CARGO_TARGET_DIR/release/examples/abi_overhead" "$URL" "$CALLS" "$ROUNDS"
taskset -c 1 "$WORK/abi_overhead_c" "$URL" "$CALLS" "$ROUNDS"

#!/usr/bin/env bash
# A/B of builds of the Node addon, interleaved round by round on one private
# redis-server (pinned to CPU 0, the clients to CPU 1). Each contender is
# NAME=ADDON: the addon file is copied over bindings/node's for its run and
# the original is put back at the end; NAME=- runs the addon in place. A NAME
# starting with "shared" runs with eventLoopConnection: false, one starting
# with "ioredis" runs ioredis. Needs the release CLI (target/release/stateful-redis)
# for the data set, and benches/node's npm packages. Not in CI.
#
#   cp bindings/node/stateful-redis.linux-x64-gnu.node /tmp/a.node   # build A
#   (change, npm run build)                                           # build B
#   benches/node/ab_addon.sh 64 3 a=/tmp/a.node b=- ioredis=-
#
# Prints one line per run: ops/s, p50 µs and client CPU µs per operation.
set -euo pipefail
inflight=$1
rounds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
addon=$(ls "$here"/../../bindings/node/*.node | head -1)
work=$(mktemp -d)
cp "$addon" "$work/restore.node"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c 0 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() {
  cp "$work/restore.node" "$addon"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# The data set of benches/contenders.py: the release CLI's prepare.
"$here/../../target/release/stateful-redis" --url "redis://127.0.0.1:$port" bench --workload get \
  --concurrency 1 --duration-s 0.05 --warmup-s 0 --json --progress never >/dev/null
for round in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*}
    file=${spec#*=}
    client=stateful-redis
    [[ $name == shared* ]] && client=stateful-redis-shared
    [[ $name == ioredis* ]] && client=ioredis
    if [[ $file != - ]]; then cp "$file" "$addon"; else cp "$work/restore.node" "$addon"; fi
    out=$(taskset -c 1 node "$here/bench.js" --url "redis://127.0.0.1:$port" --client "$client" \
      --inflight "$inflight" --seconds 4 --warmup 1 --workloads mix --ns bench:region:logic 2>&1)
    echo "round $round $name $(echo "$out" | grep -o '"ops_per_s":[0-9]*\|"p50_us":[0-9.]*\|"client_cpu_us_per_op":[0-9.]*' | tr '\n' ' ')"
  done
done

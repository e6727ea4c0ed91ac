#!/usr/bin/env bash
# Runs the Node benchmark (bench.js): installs the peers (ioredis, valkey-glide),
# builds the binding (release) when needed, and runs the client pinned to CPU 1
# (bench.js pins redis-server to CPU 0). Arguments go to bench.js.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --loglevel=error
if ! ls ../../bindings/node/stateful-redis.*.node >/dev/null 2>&1; then
  (cd ../../bindings/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npm run --silent build)
fi
exec taskset -c 1 node bench.js "$@"

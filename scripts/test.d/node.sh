#!/usr/bin/env bash
# Node binding (bindings/node): installs the dev dependencies, builds the native
# module with the napi-rs CLI (release; regenerates index.d.ts, which must match
# the committed one), runs `node --test` (private redis-servers on free loopback
# ports), then installs the `npm pack` tarball and the package folder into scratch
# projects and loads them with require and import. Idempotent; needs node >= 20.17, npm, cargo and
# redis-server on PATH.
set -euo pipefail
cd "$(dirname "$0")/../../bindings/node"

for tool in node npm cargo redis-server; do
  command -v "$tool" >/dev/null || { echo "node suite: $tool is not on PATH" >&2; exit 1; }
done

# A registry fetch that stalls fails after a minute and is retried, instead of
# holding the run for npm's default 5 minutes per attempt.
export npm_config_fetch_timeout=60000 npm_config_fetch_retries=4 \
  npm_config_fetch_retry_mintimeout=2000 npm_config_fetch_retry_maxtimeout=20000

echo "-- npm ci"
# --ignore-scripts: the install hook would build too; the napi CLI build below
# is the one that also generates the typings.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

echo "-- napi build (release)"
npm run --silent build

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git diff --exit-code -- index.d.ts || {
    echo "index.d.ts is stale: run 'npm run build' in bindings/node and commit it" >&2
    exit 1
  }
fi

echo "-- node --test"
node --test test/*.test.js

echo "-- npm pack, install the tarball into a scratch project, require and import it"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"
(
  cd "$scratch"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "./$tarball"
  node -e "const sr = require('stateful-redis'); if (typeof sr.Executor.connect !== 'function') process.exit(1)"
  node --input-type=module -e "import { Executor, ErrorCode } from 'stateful-redis'; if (ErrorCode.CLOSED !== 'CLOSED' || !Executor) process.exit(1)"
  test -f node_modules/stateful-redis/index.d.ts
)
echo "-- npm install ./bindings/node into a scratch project (the install hook runs), require it"
linked="$(mktemp -d)"
trap 'rm -rf "$scratch" "$linked"' EXIT
package_dir="$(pwd)"
(
  cd "$linked"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "$package_dir"
  node -e "const sr = require('stateful-redis'); if (typeof sr.Executor.connect !== 'function') process.exit(1)"
)
echo "2 passed, 0 failed: packed tarball and package folder install and load"

#!/usr/bin/env bash
# Node binding (bindings/node): installs the dev dependencies, builds the native
# module with the napi-rs CLI (release; regenerates index.d.ts, which must match
# the committed one), runs `node --test` (private redis-servers on free loopback
# ports), then packs a tarball from a clean copy of the checkout (no prebuilt
# module), installs it into a scratch project (the install hook builds the module
# from the vendored Rust sources) and installs the package folder into another, and
# loads them with require and import. Idempotent; needs node >= 20.17, npm, cargo and
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

echo "-- npm pack from a clean checkout (no prebuilt module), install the tarball into a scratch project"
# A copy of the repository's files as a fresh clone has them (tracked and
# untracked-but-not-ignored: no *.node, node_modules/, rust/, target/), so the
# tarball holds no module built here: installing it must build one from the Rust
# sources it vendors (scripts/vendor.js). The install's cargo build shares
# CARGO_TARGET_DIR with the build above: only the two vendored crates compile.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
repo="$(cd ../.. && pwd)"
mkdir "$scratch/checkout" "$scratch/project"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    tar -cf - --null -T - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$scratch/checkout"
else
  tar -cf - -C "$repo" --exclude=node_modules --exclude=target --exclude='*.node' \
    --exclude=./bindings/node/rust --exclude=.venv . | tar -xf - -C "$scratch/checkout"
fi
if find "$scratch/checkout" -name '*.node' | grep -q .; then
  echo "the clean copy holds a native module" >&2
  exit 1
fi
tarball="$(cd "$scratch/checkout/bindings/node" && npm pack --silent --pack-destination "$scratch" | tail -n 1)"
contents="$(tar -tzf "$scratch/$tarball")"
for file in package/LICENSE package/README.md package/index.d.ts package/rust/Cargo.lock \
  package/rust/core/Cargo.toml package/rust/core/src/lib.rs package/rust/bindings/node/build.rs; do
  grep -qx "$file" <<<"$contents" || { echo "the tarball lacks $file" >&2; exit 1; }
done
if grep -E '\.node$|/(benches|tests|examples)/' <<<"$contents"; then
  echo "the tarball holds a native module, or tests/benches/examples" >&2
  exit 1
fi
[ ! -e "$scratch/checkout/bindings/node/rust" ] && [ ! -e "$scratch/checkout/bindings/node/LICENSE" ] || {
  echo "npm pack left its vendored copies behind (postpack)" >&2
  exit 1
}
(
  cd "$scratch/project"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "../$tarball"
  ls node_modules/stateful-redis/*.node >/dev/null  # built by the install hook
  node -e "const sr = require('stateful-redis'); if (typeof sr.Executor.connect !== 'function') process.exit(1)"
  node --input-type=module -e "import { Executor, ErrorCode } from 'stateful-redis'; if (ErrorCode.CLOSED !== 'CLOSED' || !Executor) process.exit(1)"
  test -f node_modules/stateful-redis/index.d.ts
  node -e "const p = require('stateful-redis/package.json'); if (p.license !== 'Apache-2.0' || !p.repository || !p.homepage || !p.keywords.length) process.exit(1)"
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

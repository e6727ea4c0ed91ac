#!/usr/bin/env bash
# Node binding (bindings/node): installs the dev dependencies, builds the native
# module with the napi-rs CLI (release; regenerates index.d.ts, which must match
# the committed one), runs `node --test` (private redis-servers on free loopback
# ports). Then the packages users install (docs/packaging.md): from a clean copy
# of the checkout it packs the main package and this platform's package
# (npm/<platform>/, holding the module built here, stripped), checks their files
# and manifests, installs both tarballs into a scratch project offline with no
# cargo or rustc on PATH, loads them with require and import and runs the
# conformance vectors against them; and installs the package folder into another
# project. Idempotent; needs node >= 20.17, npm, cargo, strip and redis-server on
# PATH.
set -euo pipefail
cd "$(dirname "$0")/../../bindings/node"

for tool in node npm cargo strip redis-server; do
  command -v "$tool" >/dev/null || { echo "node suite: $tool is not on PATH" >&2; exit 1; }
done

# A registry fetch that stalls fails after a minute and is retried, instead of
# holding the run for npm's default 5 minutes per attempt.
export npm_config_fetch_timeout=60000 npm_config_fetch_retries=4 \
  npm_config_fetch_retry_mintimeout=2000 npm_config_fetch_retry_maxtimeout=20000

echo "-- npm ci"
# --ignore-scripts: no dev dependency needs an install script of its own.
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

echo "-- packages without Rust: pack the main package and this platform's from a clean checkout"
# A copy of the repository's files as a fresh clone has them (tracked and
# untracked-but-not-ignored: no *.node, node_modules/, rust/, target/). The main
# package must carry no module and no install script; the platform package
# (npm/<platform>/, napi-rs's layout) gets the release module built above,
# stripped as the release workflow's `napi build --strip` strips it.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
repo="$(cd ../.. && pwd)"
package_dir="$(pwd)"
mkdir "$scratch/checkout" "$scratch/project" "$scratch/bin"
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
triple="$(node -p "require('./scripts/platform.js').platformTriple()")"
module="stateful-redis.$triple.node"
platform_dir="$scratch/checkout/bindings/node/npm/$triple"
[ -f "$platform_dir/package.json" ] || { echo "no platform package npm/$triple" >&2; exit 1; }
cp "$module" "$platform_dir/$module"
strip --strip-all "$platform_dir/$module"
echo "$module: $(stat -c %s "$module") bytes as built, $(stat -c %s "$platform_dir/$module") stripped"

main_tarball="$(cd "$scratch/checkout/bindings/node" && npm pack --silent --pack-destination "$scratch" | tail -n 1)"
platform_tarball="$(cd "$platform_dir" && npm pack --silent --pack-destination "$scratch" | tail -n 1)"
echo "tarballs: $main_tarball $(stat -c %s "$scratch/$main_tarball") bytes, $platform_tarball $(stat -c %s "$scratch/$platform_tarball") bytes"
contents="$(tar -tzf "$scratch/$main_tarball")"
for file in package/LICENSE package/README.md package/index.d.ts package/scripts/platform.js \
  package/scripts/build-native.js package/rust/Cargo.lock package/rust/core/Cargo.toml \
  package/rust/core/src/lib.rs package/rust/bindings/node/build.rs; do
  grep -qx "$file" <<<"$contents" || { echo "the main tarball lacks $file" >&2; exit 1; }
done
if grep -E '\.node$|/(benches|tests|examples)/' <<<"$contents"; then
  echo "the main tarball holds a native module, or tests/benches/examples" >&2
  exit 1
fi
[ "$(tar -tzf "$scratch/$platform_tarball" | sort | tr '\n' ' ')" = \
  "package/LICENSE package/README.md package/package.json package/$module " ] || {
  echo "the platform tarball holds other files than LICENSE, README.md, package.json, $module:" >&2
  tar -tzf "$scratch/$platform_tarball" >&2
  exit 1
}
[ ! -e "$scratch/checkout/bindings/node/rust" ] && [ ! -e "$scratch/checkout/bindings/node/LICENSE" ] &&
  [ ! -e "$platform_dir/LICENSE" ] && [ ! -e "$scratch/checkout/bindings/node/.package.json.committed" ] &&
  cmp -s package.json "$scratch/checkout/bindings/node/package.json" || {
  echo "npm pack left its copies or its package.json changes behind (postpack)" >&2
  exit 1
}
# A platform package without its module must not pack (it would install and fail to load).
other="$(ls -d "$scratch/checkout/bindings/node/npm/"*/ | grep -v "/$triple/" | head -n 1)"
if (cd "$other" && npm pack --silent --pack-destination "$scratch/project" >/dev/null 2>&1); then
  echo "$other packed without its module" >&2
  exit 1
fi
# The manifests: no install-time script anywhere; the main package lists every
# platform package of napi.targets at its own version; the platform package
# says where it runs.
(cd "$scratch" && tar -xzf "$main_tarball" -O package/package.json >main.json &&
  tar -xzf "$platform_tarball" -O package/package.json >platform.json)
node - "$scratch/main.json" "$scratch/platform.json" "$triple" <<'JS'
const assert = require('node:assert/strict')
const [main, platform] = process.argv.slice(2, 4).map((f) => JSON.parse(require('node:fs').readFileSync(f, 'utf8')))
const triple = process.argv[4]
for (const manifest of [main, platform]) {
  for (const hook of ['preinstall', 'install', 'postinstall']) {
    assert.ok(!(manifest.scripts && hook in manifest.scripts), `${manifest.name} has a ${hook} script`)
  }
}
assert.equal(Object.keys(main.optionalDependencies).length, main.napi.targets.length)
for (const version of Object.values(main.optionalDependencies)) assert.equal(version, main.version)
assert.equal(platform.name, `stateful-redis-${triple}`)
assert.equal(main.optionalDependencies[platform.name], main.version)
assert.equal(platform.version, main.version)
assert.deepEqual([platform.os, platform.cpu], [[process.platform], [process.arch]])
if (process.platform === 'linux') assert.deepEqual(platform.libc, [triple.endsWith('-musl') ? 'musl' : 'glibc'])
assert.equal(platform.main, `stateful-redis.${triple}.node`)
assert.equal(platform.license, 'Apache-2.0')
JS

echo "-- install both tarballs offline, without cargo or rustc on PATH; require, import, the conformance vectors"
# PATH holds only what the install and the tests run; an empty npm cache and
# --offline: nothing is downloaded, the other platforms' packages are skipped.
for tool in node npm redis-server redis-cli; do ln -s "$(command -v "$tool")" "$scratch/bin/$tool"; done
(
  cd "$scratch/project"
  export PATH="$scratch/bin" npm_config_cache="$scratch/npm-cache"
  unset CARGO RUSTC
  if command -v cargo || command -v rustc; then echo "cargo or rustc is still on PATH" >&2; exit 1; fi
  node -e "require('node:fs').writeFileSync('package.json', JSON.stringify({ name: 'scratch', private: true }))"
  started=$EPOCHREALTIME
  npm install --offline --ignore-scripts --no-audit --no-fund --loglevel=error \
    "../$main_tarball" "../$platform_tarball"
  echo "installed in $(node -p "($EPOCHREALTIME - $started).toFixed(2)") s"
  node - "$triple" <<'JS'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const triple = process.argv[2]
const sr = require('stateful-redis')
assert.equal(typeof sr.Executor.connect, 'function')
const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
assert.deepEqual(loaded.map((f) => f.split('/node_modules/')[1]),
  [`stateful-redis-${triple}/stateful-redis.${triple}.node`], 'the module comes from the platform package')
const installed = fs.readdirSync('node_modules').filter((name) => name.startsWith('stateful-redis'))
assert.deepEqual(installed.sort(), ['stateful-redis', `stateful-redis-${triple}`])
assert.ok(!fs.readdirSync('node_modules/stateful-redis').some((f) => f.endsWith('.node')))
assert.ok(fs.existsSync('node_modules/stateful-redis/index.d.ts'))
JS
  node --input-type=module -e "import { Executor, ErrorCode } from 'stateful-redis'; if (ErrorCode.CLOSED !== 'CLOSED' || !Executor) process.exit(1)"
  # The Node suite's vector runner, against the installed package.
  STATEFUL_REDIS_NODE_PACKAGE="$scratch/project/node_modules/stateful-redis" \
    node --test "$package_dir/test/vectors.test.js"
)

echo "-- npm install ./bindings/node into a scratch project: the module built from source here loads"
linked="$(mktemp -d)"
trap 'rm -rf "$scratch" "$linked"' EXIT
(
  cd "$linked"
  npm init -y >/dev/null
  npm install --offline --no-audit --no-fund --loglevel=error "$package_dir"
  node -e "const sr = require('stateful-redis'); if (typeof sr.Executor.connect !== 'function') process.exit(1)"
)
echo "packages: 2 installs passed (packed tarballs without Rust, with the vectors; the package folder)"

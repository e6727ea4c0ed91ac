#!/usr/bin/env bash
# Runs every test of the project (the README's test command; CI runs it through
# .ci/run). On a fresh machine it first installs what the suites need and is
# missing (scripts/lib/install-deps.sh: redis-server and each suite's Debian
# packages, only what is missing; a second run installs nothing). The tests start
# private servers on free loopback ports and stop them.
#
#   STATEFUL_REDIS_NO_INSTALL=1   install nothing (a missing tool then fails its suite)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/install-deps.sh
command -v redis-server >/dev/null || {
  echo "redis-server is not on PATH: install it (Debian: apt-get install redis-server)" >&2
  exit 1
}

echo "== Rust: format, lint, tests"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

for suite in scripts/test.d/*.sh; do
  [ -e "$suite" ] || continue
  echo "== $(basename "$suite" .sh)"
  bash "$suite"
done
echo "== all tests passed"

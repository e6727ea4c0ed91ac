#!/usr/bin/env bash
# Runs every test of the project. Needs redis-server on PATH (the tests start
# private servers on free loopback ports and stop them).
set -euo pipefail
cd "$(dirname "$0")/.."

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

#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (not in CI: needs nightly Rust and
# cargo-fuzz). CI runs the same checks on stable as property tests
# (core/tests/fuzz_props.rs).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

command -v cargo-fuzz >/dev/null || {
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
  exit 1
}
rustup toolchain list | grep -q nightly || {
  echo "cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
}

# A target dir of its own (or the caller's), never the workspace's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"
for target in keys config_json; do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
done
echo "== no crash"

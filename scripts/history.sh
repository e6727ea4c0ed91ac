#!/usr/bin/env bash
# The randomized concurrency history check of issue 13 at length (not in CI,
# which runs it for 10 s per topology): 16 clients run random calls of all 17
# operations against a private redis-server and then a 3+3 cluster, and the
# history is checked against the model of SPEC sections 2-3
# (core/tests/history.rs, docs/testing.md).
#
#   scripts/history.sh            600 s per topology
#   scripts/history.sh 120        120 s per topology
#
# Prints the operation count and the violations of each topology (the first 20
# in full); every violation goes to history-report.TOPOLOGY.txt in the report
# directory (default: a new temporary directory; set HISTORY_REPORT_DIR). Exits
# non-zero when a violation was found. Passes STATEFUL_REDIS_HISTORY_SEED and
# STATEFUL_REDIS_HISTORY_MIX through; CARGO_PROFILE_ARGS=--release builds an
# optimised client. Needs redis-server and redis-cli on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [seconds per topology]" >&2; exit 2; }
profile=(${CARGO_PROFILE_ARGS:-})
dir="${HISTORY_REPORT_DIR:-$(mktemp -d)}"
mkdir -p "$dir"

status=0
for topology in standalone cluster; do
  echo "== history, $topology, $secs s"
  STATEFUL_REDIS_HISTORY_SECS="$secs" STATEFUL_REDIS_HISTORY_REPORT="$dir/history-report" \
    cargo test "${profile[@]}" -p stateful-redis --test history "history_$topology" \
    -- --exact --nocapture --test-threads=1 || status=1
done
echo "== every violation: $dir/history-report.{standalone,cluster}.txt"
exit $status

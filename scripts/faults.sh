#!/usr/bin/env bash
# The reliability targets of issue 9 at their full size (not in CI: about 5
# minutes). Runs the tests of core/tests/faults_targets.rs and
# core/tests/faults_memory.rs with the target counts, one at a time, and prints
# their figures (lines starting with "G" and "nothing lost").
#
#   scripts/faults.sh            all targets
#   scripts/faults.sh g1 g3      some of them (g1 g2 g3 g4 g6 lost)
#
# Needs redis-server and redis-cli on PATH. Set CARGO_PROFILE_ARGS=--release to
# measure an optimised client (the figures in docs/reliability.md are from the
# default test profile).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(g1 g2 g3 g4 g6 lost)
profile=(${CARGO_PROFILE_ARGS:-})

run() { # test-binary filter, then env assignments
  local binary="$1" filter="$2"
  shift 2
  env "$@" cargo test "${profile[@]}" -p stateful-redis --test "$binary" "$filter" \
    -- --nocapture --test-threads=1 2>&1 | grep -oE '(G[0-9][ :]|nothing lost:).*|test result.*|panicked.*'
}

for t in "${targets[@]}"; do
  case "$t" in
    g1) run faults_targets g1_ SR_G1_CALLS=10000
        run faults_security rediss_against SR_G1_TLS_TRIES=200 ;;
    g2) run faults_targets g2_ SR_G2_RESTARTS=20 ;;
    g3) run faults_targets g3_ SR_G3_ROUNDS=1000 ;;
    g4) run faults_targets g4_ SR_G4_SECONDS=60 SR_G4_PERIOD_MS=1000 ;;
    g6) run faults_memory g6_ SR_G6_OUTAGE_SECONDS=60
        run faults_memory g6_ SR_G6_OUTAGE_SECONDS=60 SR_G6_MODE=kill ;;
    lost) run faults_targets acknowledged_writes ;;
    *) echo "unknown target $t (g1 g2 g3 g4 g6 lost)" >&2; exit 2 ;;
  esac
done

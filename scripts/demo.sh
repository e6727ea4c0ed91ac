#!/usr/bin/env bash
# The main job on a fresh machine: installs redis-server if missing, builds the
# `stateful-redis` command, runs a benchmark against a private Redis (live
# progress, table, Markdown report with charts in target/demo-report/), then
# serves the live dashboard with a workload running, until Ctrl-C.
#
#   DEMO_DURATION_S=10   seconds of benchmark (default 10)
#   DEMO_DASHBOARD_S=N   stop the dashboard after N seconds (default: Ctrl-C)
#   DEMO_LISTEN=ADDR     dashboard address (default 127.0.0.1:9464)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-redis.sh

cargo build --release -q -p stateful-redis-cli
bin="${CARGO_TARGET_DIR:-target}/release/stateful-redis"

echo "== stateful-redis bench (mixed workload, 64 calls in flight)"
"$bin" bench --workload mixed --duration-s "${DEMO_DURATION_S:-10}" --report target/demo-report
echo "report: target/demo-report/report.md (charts: throughput.svg, latency.svg)"

echo "== stateful-redis dashboard (open the address below in a browser)"
args=(dashboard --listen "${DEMO_LISTEN:-127.0.0.1:9464}" --workload mixed --concurrency 16)
[ -n "${DEMO_DASHBOARD_S:-}" ] && args+=(--duration-s "$DEMO_DASHBOARD_S")
exec "$bin" "${args[@]}"

#!/usr/bin/env bash
# The main job on a fresh machine: installs redis-server if missing, then runs
# a tour of every operation against a private Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-redis.sh
cargo run --release -q -p stateful-redis --example tour

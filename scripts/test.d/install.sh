#!/usr/bin/env bash
# The test command's installers (scripts/lib/install-deps.sh, which sources
# scripts/lib/install-redis.sh and .ci/deps.d/*.sh), run against fake tools so
# nothing is installed:
#   1. on a "fresh machine" (a PATH with none of the tools) every installer asks
#      apt-get for its packages (and pip for prometheus-client);
#   2. where every tool is present, nothing is installed (idempotent);
#   3. STATEFUL_REDIS_NO_INSTALL=1 installs nothing even on the fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stateful-redis-install-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Fakes: apt-get, pip (through python3) and sudo record their calls; python3
# finds no module; `id` is the only real tool.
mkdir "$WORK/bin"
cat >"$WORK/bin/apt-get" <<FAKE
#!$BASH
echo "apt-get \$*" >>"$WORK/calls"
FAKE
cat >"$WORK/bin/python3" <<FAKE
#!$BASH
case "\$1" in -m) echo "python3 \$*" >>"$WORK/calls" ;; *) exit 1 ;; esac
FAKE
cat >"$WORK/bin/sudo" <<FAKE
#!$BASH
"\$@"
FAKE
ln -s "$(command -v id)" "$WORK/bin/id"
chmod +x "$WORK/bin/"*

run() {  # run [ENV=VALUE...]: sources the installers with PATH=$WORK/bin
  : >"$WORK/calls"
  env -i HOME="$WORK" PATH="$WORK/bin" "$@" "$BASH" -c \
    'set -euo pipefail; source scripts/lib/install-deps.sh' >/dev/null 2>&1 || {
    echo "the installers failed" >&2
    return 1
  }
}

passed=0
echo "-- a fresh machine: every installer installs its packages"
run
for expected in "install -y -qq redis-server redis-tools" " cmake valgrind pkg-config " \
  " chromium " " default-jdk-headless maven" " nodejs npm" " prometheus" " python3-venv " \
  "python3 -m pip install -q prometheus-client"; do
  grep -qF -- "$expected" "$WORK/calls" || {
    echo "no install of '$expected'; calls were:" >&2
    cat "$WORK/calls" >&2
    exit 1
  }
  passed=$((passed + 1))
done
# Each apt-get install follows an apt-get update (a fresh machine has no lists).
[ "$(grep -c '^apt-get update' "$WORK/calls")" -ge "$(grep -c '^apt-get install' "$WORK/calls")" ] || {
  echo "an apt-get install without an apt-get update:" >&2
  cat "$WORK/calls" >&2
  exit 1
}
passed=$((passed + 1))

echo "-- every tool present: nothing installed"
for tool in redis-server redis-benchmark cmake valgrind pkg-config cc c++ make readelf \
  chromium javac mvn node npm promtool; do
  printf '#!%s\nexit 0\n' "$BASH" >"$WORK/bin/$tool"
  chmod +x "$WORK/bin/$tool"
done
printf '#!%s\nexit 0\n' "$BASH" >"$WORK/bin/python3"
run
if [ -s "$WORK/calls" ] && grep -q . <(grep -v -e 'libhiredis-dev' -e 'libjansson-dev' -e '^apt-get update' "$WORK/calls"); then
  echo "installed although every tool is there:" >&2
  cat "$WORK/calls" >&2
  exit 1
fi
passed=$((passed + 1))

echo "-- STATEFUL_REDIS_NO_INSTALL=1 on a fresh machine: nothing installed"
rm "$WORK/bin/"{redis-server,cmake,chromium,javac,node,promtool,python3}
run STATEFUL_REDIS_NO_INSTALL=1
[ ! -s "$WORK/calls" ] || { echo "installed despite STATEFUL_REDIS_NO_INSTALL:" >&2; cat "$WORK/calls" >&2; exit 1; }
passed=$((passed + 1))
echo "install suite: $passed checks passed"

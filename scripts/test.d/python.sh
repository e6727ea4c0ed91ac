#!/usr/bin/env bash
# The Python package's suite (issue 5): builds the extension into a project-local
# virtualenv (bindings/python/.venv, git-ignored) and runs pytest against private
# redis-servers the suite starts and stops itself. Idempotent; works on a fresh
# machine with python3 (>= 3.9, with venv), a Rust toolchain and redis-server.
set -euo pipefail
cd "$(dirname "$0")/../../bindings/python"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "cannot create a virtualenv with $PYTHON (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9.2,<2" "pytest>=8" "redis>=5" "jsonschema>=4" "mypy>=1.10"

# Release build (what users get); the cargo target dir is shared with the workspace
# unless CARGO_TARGET_DIR says otherwise.
log=$(mktemp)
if ! .venv/bin/maturin develop --release --quiet >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "maturin develop failed" >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -c "import stateful_redis._native" || {
  echo "the extension module was not built" >&2
  exit 1
}
.venv/bin/python -m pytest tests -q -p no:cacheprovider

echo "-- sdist metadata: PEP 639 license, the LICENSE file, project URLs"
sdist_dir=$(mktemp -d)
trap 'rm -rf "$sdist_dir"' EXIT
.venv/bin/maturin sdist --out "$sdist_dir" >/dev/null 2>&1 || {
  .venv/bin/maturin sdist --out "$sdist_dir"
  exit 1
}
sdist=$(ls "$sdist_dir"/*.tar.gz)
pkg_info=$(tar -xzf "$sdist" -O --wildcards '*/PKG-INFO')
for field in "License-Expression: Apache-2.0" "License-File: LICENSE" \
  "Project-URL: Repository, " "Classifier: Programming Language :: Python :: 3.9" "Keywords: "; do
  grep -qF "$field" <<<"$pkg_info" || { echo "PKG-INFO lacks '$field'" >&2; exit 1; }
done
# The license shipped is the repository's (bindings/python/LICENSE is a symlink to it).
tar -xzf "$sdist" -O --wildcards '*/bindings/python/LICENSE' | cmp - ../../LICENSE
echo "sdist metadata: 6 checks passed"

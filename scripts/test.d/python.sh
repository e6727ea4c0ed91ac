#!/usr/bin/env bash
# The Python package's suite (issue 5): builds the extension into a project-local
# virtualenv (bindings/python/.venv, git-ignored) and runs pytest against private
# redis-servers the suite starts and stops itself. Then the wheel users install
# (docs/packaging.md): builds it (release, stripped), checks it with auditwheel,
# installs it into a fresh virtualenv with no cargo or rustc on PATH and runs the
# conformance vectors against it; and checks the sdist's metadata. Idempotent;
# works on a fresh machine with python3 (>= 3.9, with venv), a Rust toolchain and
# redis-server.
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
  "maturin>=1.9.2,<2" "pytest>=8" "redis>=5" "jsonschema>=4" "mypy>=1.10" "auditwheel>=6" \
  "prometheus-client>=0.12" "opentelemetry-api>=1.20" "opentelemetry-sdk>=1.20"

# Release build, stripped (what users get: scripts/package.sh); the cargo target
# dir is shared with the workspace unless CARGO_TARGET_DIR says otherwise. The
# wheel built below with the same options and interpreter reuses this build.
log=$(mktemp)
if ! .venv/bin/maturin develop --release --strip --quiet >"$log" 2>&1; then
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

echo "-- the wheel without Rust: build it, check it, install it into a fresh virtualenv with no cargo or rustc on PATH, run the vectors"
# The manylinux_2_28 wheel made with zig is scripts/package.sh's (minutes of
# release build); this one is tagged from the build machine's glibc, built from
# the artifacts of the develop build above (seconds), and checked by maturin's
# own compliance check and by auditwheel.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
started=$EPOCHREALTIME
.venv/bin/maturin build --release --strip --interpreter .venv/bin/python --out "$scratch/dist" --quiet \
  >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; echo "maturin build failed" >&2; exit 1; }
build_seconds=$(.venv/bin/python -c "print(f'{$EPOCHREALTIME - $started:.1f}')")
wheel=$(ls "$scratch"/dist/*.whl)
case "$(basename "$wheel")" in
  stateful_redis-*-cp39-abi3-manylinux_*_x86_64.whl | stateful_redis-*-cp39-abi3-*linux_*.whl) ;;
  *) echo "unexpected wheel name: $wheel (want cp39-abi3, a manylinux tag)" >&2; exit 1 ;;
esac
.venv/bin/auditwheel show "$wheel" >"$scratch/auditwheel.txt" 2>&1 || { cat "$scratch/auditwheel.txt" >&2; exit 1; }
tr -s ' \n' ' ' <"$scratch/auditwheel.txt" | grep -qE 'is consistent with the following platform tag: "manylinux_' || {
  cat "$scratch/auditwheel.txt" >&2
  echo "auditwheel finds no manylinux tag for the wheel" >&2
  exit 1
}
echo "$(basename "$wheel"): $(stat -c %s "$wheel") bytes, built in $build_seconds s"
# The test tools come from the index; the wheel then installs with --no-index
# and a PATH that has no cargo or rustc (only what the tests start).
python_bin=$(readlink -f .venv/bin/python)
"$python_bin" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pytest>=8" "redis>=5"
mkdir "$scratch/bin"
for tool in redis-server redis-cli; do ln -s "$(command -v "$tool")" "$scratch/bin/$tool"; done
tests_dir=$(pwd)/tests
(
  cd "$scratch"
  export PATH="$scratch/bin"
  unset CARGO RUSTC
  if command -v cargo || command -v rustc; then echo "cargo or rustc is still on PATH" >&2; exit 1; fi
  started=$EPOCHREALTIME
  venv/bin/python -m pip install --quiet --disable-pip-version-check --no-index "$wheel"
  echo "installed in $(venv/bin/python -c "print(f'{$EPOCHREALTIME - $started:.2f}')") s"
  venv/bin/python -c "
import os, stateful_redis, stateful_redis._native
assert stateful_redis.__file__.startswith(os.path.realpath('venv')), stateful_redis.__file__
print('imported', stateful_redis.__file__)"
  # The Python suite's vector runner (tests/test_vectors.py and its conftest),
  # against the installed wheel: the source tree's package is not on sys.path.
  venv/bin/python -m pytest "$tests_dir/test_vectors.py" -q -p no:cacheprovider
)

echo "-- sdist metadata: PEP 639 license, the LICENSE file, project URLs"
sdist_dir=$(mktemp -d)
trap 'rm -rf "$scratch" "$sdist_dir"' EXIT
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

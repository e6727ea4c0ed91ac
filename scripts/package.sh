#!/usr/bin/env bash
# Python release recipe (docs/packaging.md): builds the abi3 wheel (CPython >=
# 3.9) in release mode, stripped, for manylinux_2_28 (linked with zig against
# glibc 2.28 whatever the build machine's glibc is), checks it (name, auditwheel,
# no symbol table, installs into a fresh virtualenv and imports), and builds the
# sdist. Output in dist/python/ (git-ignored).
#
#   SR_MANYLINUX=manylinux_2_28   the wheel's platform tag (maturin --compatibility)
#   SR_ZIG=0                      link with the system's toolchain instead of zig
#                                 (then the tag can only be the build machine's glibc)
#
# Tools come from PyPI into a private virtualenv (target/package-venv): maturin,
# ziglang (zig as a Python package) and auditwheel. Needs python3 and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="$ROOT/dist/python"
VENV="$ROOT/target/package-venv"
MANYLINUX="${SR_MANYLINUX:-manylinux_2_28}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
tools=("maturin>=1.9.2,<2" "auditwheel>=6")
[ "${SR_ZIG:-1}" = 0 ] || tools+=("ziglang>=0.13")
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${tools[@]}"

rm -rf "$OUT"
mkdir -p "$OUT"
args=(build --release --strip --compatibility "$MANYLINUX" --out "$OUT"
  --manifest-path bindings/python/Cargo.toml)
[ "${SR_ZIG:-1}" = 0 ] || args+=(--zig)
echo "-- maturin ${args[*]}"
# maturin finds zig on PATH (the ziglang package's python -m ziglang wrapper).
PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" "${args[@]}"

wheel=$(ls "$OUT"/*.whl)
case "$wheel" in
  *-cp39-abi3-*"${MANYLINUX}"_x86_64*.whl) ;;
  *) echo "unexpected wheel name: $wheel (want cp39-abi3, $MANYLINUX)" >&2; exit 1 ;;
esac
echo "-- auditwheel show"
"$VENV/bin/auditwheel" show "$wheel" | tee "$OUT/auditwheel.txt"
# (auditwheel wraps its lines: compare with the text on one line)
tr -s ' \n' ' ' <"$OUT/auditwheel.txt" |
  grep -qF "is consistent with the following platform tag: \"${MANYLINUX}_x86_64\"" || {
  echo "auditwheel does not find the wheel consistent with $MANYLINUX" >&2
  exit 1
}
# Stripped: no symbol table, no debug sections in the extension module.
module="$(mktemp -d)"
trap 'rm -rf "$module"' EXIT
"$VENV/bin/python" -m zipfile -e "$wheel" "$module"
so=$(find "$module" -name '_native*.so')
if readelf -S "$so" | grep -qE '\.symtab|\.debug_'; then
  echo "the extension module is not stripped" >&2
  exit 1
fi
rm -f "$OUT/auditwheel.txt"
# It installs and imports without Rust: a fresh virtualenv, the wheel only.
python3 -m venv "$module/venv"
"$module/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$wheel"
(cd "$module" && venv/bin/python -c "import stateful_redis, stateful_redis._native; print('imported', stateful_redis.__name__)")

echo "-- maturin sdist"
"$VENV/bin/maturin" sdist --manifest-path bindings/python/Cargo.toml --out "$OUT" >/dev/null
ls -l "$OUT"

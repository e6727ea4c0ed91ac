#!/usr/bin/env bash
# Wire compatibility with the Java version (issue 8): builds the Lettuce harness
# (benches/java) and the Rust fixture tool (benches/compare), starts a private
# redis-server on a free loopback port, and for both key schemas (default, java):
#   Java writes the fixture -> Rust checks it;  Rust writes it -> Java checks it;
# then the Java selftest on both schemas and the conformance vectors through the Java
# harness (tests/vectors). Stops the server on exit. Idempotent; needs java >= 17,
# mvn, cargo, python3 and redis-server on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

for tool in java mvn cargo python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "java suite: $tool is not on PATH" >&2; exit 1; }
done

JAR="$ROOT/benches/java/target/stateful-redis-java-harness.jar"
echo "-- mvn package (benches/java)"
(cd benches/java && mvn -q -B package -DskipTests)
test -f "$JAR"

echo "-- cargo build stateful-redis-compare (debug: reuses what the Rust tests built)"
cargo build -q -p stateful-redis-compare
RUST_FX="${CARGO_TARGET_DIR:-$ROOT/target}/debug/stateful-redis-compare"

source "$ROOT/scripts/lib/private-redis.sh"
WORK="$(mktemp -d -t stateful-redis-java.XXXXXX)"
cleanup() {
  private_redis_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

private_redis_start "$WORK"
echo "-- redis-server on 127.0.0.1:$PORT"

java_run() { java -jar "$JAR" "$@"; }
FIXTURE="$ROOT/benches/java/fixture.json"
NS="compat:eu:logic"
passed=0
for schema in default java; do
  for mode in tuned as-shipped; do
    echo "-- schema $schema: Java ($mode) writes, Rust checks"
    java_run write-fixture --url "$URL" --schema "$schema" --ns "$NS" --mode "$mode" --fixture "$FIXTURE"
    "$RUST_FX" check-fixture --url "$URL" --schema "$schema" --ns "$NS" --fixture "$FIXTURE"
    passed=$((passed + 1))
  done
  echo "-- schema $schema: Rust writes, Java checks"
  "$RUST_FX" write-fixture --url "$URL" --schema "$schema" --ns "$NS" --fixture "$FIXTURE"
  java_run check-fixture --url "$URL" --schema "$schema" --ns "$NS" --fixture "$FIXTURE"
  passed=$((passed + 1))
  echo "-- schema $schema: Rust writes, Rust checks"
  "$RUST_FX" check-fixture --url "$URL" --schema "$schema" --ns "$NS" --fixture "$FIXTURE"
  passed=$((passed + 1))
done

echo "-- the Rust checker must report a tampered store"
"$RUST_FX" write-fixture --url "$URL" --schema default --ns "$NS" --fixture "$FIXTURE"
redis-cli -p "$PORT" del "sf:{$NS:lk:u1}chat" >/dev/null
if "$RUST_FX" check-fixture --url "$URL" --schema default --ns "$NS" --fixture "$FIXTURE" > "$WORK/tampered.txt"; then
  cat "$WORK/tampered.txt"
  echo "FAIL: the Rust checker did not notice a deleted link" >&2
  exit 1
fi
grep -q '^DIFF get_linked_pod(u1, chat)' "$WORK/tampered.txt"
passed=$((passed + 1))

for schema in default java; do
  echo "-- Java selftest, schema $schema"
  java_run selftest --url "$URL" --schema "$schema" --mode tuned
  passed=$((passed + 1))
done

for mode in tuned as-shipped; do
  echo "-- conformance vectors through the Java harness ($mode)"
  java_run vectors --url "$URL" --dir "$ROOT/tests/vectors" --mode "$mode"
  passed=$((passed + 1))
done
echo "java suite: $passed checks passed"

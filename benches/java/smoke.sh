#!/usr/bin/env bash
# Smoke test of the Java (Lettuce) harness: builds the jar, starts a private
# redis-server on a free loopback port, writes and checks the fixture on both key
# schemas (and checks that a tampered store is reported), runs the selftest (edge
# cases) on both schemas in both modes, runs a 2-second bench in
# both modes at concurrency 1 and 64, prints the JSON, and stops the server on exit.
#
#   bash benches/java/smoke.sh            (from anywhere)
#   SMOKE_DURATION_S=5 bash benches/java/smoke.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR="$HERE/target/stateful-redis-java-harness.jar"
DURATION="${SMOKE_DURATION_S:-2}"
NS="smoke:eu:logic"

source "$HERE/../../scripts/lib/private-redis.sh"
WORK="$(mktemp -d)"
cleanup() {
    private_redis_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build"
# Offline first (the dependencies are usually in ~/.m2 already); online when that fails.
if ! (cd "$HERE" && mvn -q -B -o package -DskipTests) > "$WORK/build.log" 2>&1; then
    (cd "$HERE" && mvn -q -B package -DskipTests) > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
fi
test -f "$JAR"

private_redis_start "$WORK"
echo "== redis-server on 127.0.0.1:$PORT"

run() { java -jar "$JAR" "$@"; }

for schema in default java; do
    echo "== fixture, schema $schema"
    run write-fixture --url "$URL" --schema "$schema" --ns "$NS" --mode tuned
    run check-fixture --url "$URL" --schema "$schema" --ns "$NS" --mode tuned
    # Written in one mode, read in the other: the same data either way.
    run write-fixture --url "$URL" --schema "$schema" --ns "$NS" --mode as-shipped
    run check-fixture --url "$URL" --schema "$schema" --ns "$NS" --mode tuned
done

for schema in default java; do
    for mode in tuned as-shipped; do
        echo "== selftest, schema $schema, $mode"
        run selftest --url "$URL" --schema "$schema" --mode "$mode"
    done
done

echo "== check-fixture must report a tampered store"
redis-cli -p "$PORT" del 'sf:{smoke:eu:logic:lk:u1}chat' >/dev/null
if run check-fixture --url "$URL" --schema default --ns "$NS" > "$WORK/tampered.txt"; then
    cat "$WORK/tampered.txt"
    echo "FAIL: check-fixture did not notice a deleted link" >&2
    exit 1
fi
grep -q 'DIFF get_linked_pod(u1, chat)' "$WORK/tampered.txt"
echo "ok: $(grep -c '^DIFF' "$WORK/tampered.txt") difference(s) reported"

echo "== bench, ${DURATION} s per run"
for mode in tuned as-shipped; do
    for c in 1 64; do
        run bench --url "$URL" --mode "$mode" --schema default --concurrency "$c" --duration-s "$DURATION" \
            --uids 10000 --services 4 --pods 32 --workload mixed --prepare | tee "$WORK/bench.json"
        python3 - "$WORK/bench.json" "$mode" "$c" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("impl", "mode", "schema", "concurrency", "duration_s", "ops", "ops_per_s", "errors",
          "p50_us", "p99_us", "per_op", "cpu_time_s", "peak_rss_kib"):
    assert k in d, "missing " + k
assert d["impl"] == "java-lettuce" and d["mode"] == sys.argv[2] and d["concurrency"] == int(sys.argv[3])
assert d["ops"] > 0 and d["errors"] == 0, d
assert set(d["per_op"]) == {"get_linked_pod", "set_linked_pod", "set_linked_pod_if_absent",
                            "remove_linked_pod", "batch_get_linked_pod"}, d["per_op"]
PY
    done
done
run bench --url "$URL" --mode tuned --schema java --concurrency 8 --duration-s 1 --prepare >/dev/null
echo "== smoke passed"

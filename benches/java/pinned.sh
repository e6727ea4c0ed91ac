#!/usr/bin/env bash
# Pinned comparison of the Java (Lettuce) harness alone, as PERFORMANCE.md measures:
# redis-server on CPU 0, the harness on CPU 1, RUNS runs of DURATION s for each of
# tuned / as-shipped at concurrency 1 and 64 (interleaved), the PERFORMANCE.md mix,
# FLUSHDB + prepare before every run. Prints every JSON line, then the medians as a
# Markdown table. Assumes the jar is built (smoke.sh or mvn package). "other load" is
# the CPU (in cores, averaged over the run) that processes other than this redis-server
# and this JVM used meanwhile: on a shared machine, runs with a high figure are noisy.
#
#   RUNS=3 DURATION=5 bash benches/java/pinned.sh
#   EXTRA="--warmup-s 10" bash benches/java/pinned.sh     (longer warm-up)
#   SUMMARISE=runs.jsonl bash benches/java/pinned.sh      (tables of a saved series)
#   OUT=runs.jsonl bash benches/java/pinned.sh            (also keep every run's JSON)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR="$HERE/target/stateful-redis-java-harness.jar"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-5}"
SCHEMA="${SCHEMA:-default}"
EXTRA="${EXTRA:-}"            # e.g. EXTRA="--warmup-s 10"
summarise() {
    python3 - "$1" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in runs:
    groups.setdefault((r["mode"], r["concurrency"]), []).append(r)
print()
print("| mode | in flight | runs | ops/s (median) | ops/s (all runs) | p50 µs | p99 µs | CPU s in window | CPU µs/op | peak RSS MiB | errors | other load (cores) |")
print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
for (mode, c) in sorted(groups, key=lambda k: (k[1], k[0] != "tuned")):
    g = groups[(mode, c)]
    med = lambda k: statistics.median(x[k] for x in g)
    all_runs = ", ".join("{:,.0f}".format(x["ops_per_s"]) for x in g)
    other = ", ".join("{:.2f}".format(x["other_load_cores"]) for x in g)
    print(f"| {mode} | {c} | {len(g)} | {med('ops_per_s'):,.0f} | {all_runs} "
          f"| {med('p50_us'):.1f} | {med('p99_us'):.1f} | {med('cpu_time_s'):.2f} "
          f"| {statistics.median(x['cpu_time_s'] * 1e6 / x['ops'] for x in g):.1f} | {med('peak_rss_kib')/1024:.0f} "
          f"| {sum(x['errors'] for x in g)} | {other} |")
print()
print("Per operation (medians of p50 / p99, µs):")
print()
ops = ["get_linked_pod", "set_linked_pod", "set_linked_pod_if_absent", "remove_linked_pod", "batch_get_linked_pod"]
print("| mode | in flight | " + " | ".join(ops) + " |")
print("|---|---:|" + "---:|" * len(ops))
for (mode, c) in sorted(groups, key=lambda k: (k[1], k[0] != "tuned")):
    g = groups[(mode, c)]
    cells = []
    for op in ops:
        p50 = statistics.median(x["per_op"][op]["p50_us"] for x in g)
        p99 = statistics.median(x["per_op"][op]["p99_us"] for x in g)
        cells.append(f"{p50:.1f} / {p99:.1f}")
    print(f"| {mode} | {c} | " + " | ".join(cells) + " |")
PY
}

# SUMMARISE=runs.jsonl: only print the tables of a saved series.
if [ -n "${SUMMARISE:-}" ]; then
    summarise "$SUMMARISE"
    exit 0
fi
test -f "$JAR" || { echo "build the jar first: (cd $HERE && mvn -q -B package -DskipTests)" >&2; exit 2; }

source "$HERE/../../scripts/lib/private-redis.sh"
WORK="$(mktemp -d)"
cleanup() {
    private_redis_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

private_redis_start "$WORK" 0

# Machine-wide busy jiffies, and a process's utime+stime, to tell how much CPU other
# tenants of this shared machine used during a run ("other load", in cores).
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ="$(getconf CLK_TCK)"

for run in $(seq 1 "$RUNS"); do
    for c in 1 64; do
        for mode in tuned as-shipped; do
            echo "# run $run, $mode, concurrency $c, load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
            b0="$(busy)"; r0="$(proc_cpu "$REDIS_PID")"; t0="$(date +%s.%N)"
            taskset -c 1 java -jar "$JAR" bench --url "redis://127.0.0.1:$PORT" --mode "$mode" --schema "$SCHEMA" \
                --concurrency "$c" --duration-s "$DURATION" $EXTRA --uids 10000 --services 4 --pods 32 \
                --workload mixed --prepare > "$WORK/one.json"
            b1="$(busy)"; r1="$(proc_cpu "$REDIS_PID")"; t1="$(date +%s.%N)"
            python3 - "$WORK/one.json" "$b0" "$b1" "$r0" "$r1" "$t0" "$t1" "$HZ" >> "$WORK/runs.jsonl" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b0, b1, r0, r1, t0, t1, hz = map(float, sys.argv[2:])
other = ((b1 - b0) - (r1 - r0)) / hz - d["cpu_time_total_s"]
d["other_load_cores"] = round(max(0.0, other) / (t1 - t0), 2)
print(json.dumps(d))
PY
            tail -n 1 "$WORK/runs.jsonl"
        done
    done
done

if [ -n "${OUT:-}" ]; then
    cp "$WORK/runs.jsonl" "$OUT"
fi
summarise "$WORK/runs.jsonl"

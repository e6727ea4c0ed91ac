#!/usr/bin/env python3
"""Side-by-side comparison: this project against the Java version (Lettuce).

Drives the same workload (PERFORMANCE.md mix, or get / set only; 10,000 uids x 4
services, 32 pods; same NS `bench:region:logic`, uids `u0..`, services `svc0..`)
through every implementation, one after another, against ONE private redis-server
pinned to CPU 0 (`taskset -c 0`), each client pinned to CPU 1 (`taskset -c 1`).

Implementations:
  java-tuned       java -jar benches/java/target/stateful-redis-java-harness.jar bench --mode tuned
  java-as-shipped  the same with --mode as-shipped (EVAL of the whole script on every call)
  rust             target/release/stateful-redis bench (the CLI on the Rust core)
Node / Python / C / Go: benches/contenders.py (see NOTES, printed with the table).

Before every measured run: FLUSHDB, then the same data set for everybody, written by
the Rust CLI's prepare (half of the (uid, service) pairs linked, half of those
persistent, TTL 300 for the rest; pod loads and states); the measured client then runs
without its own prepare: 1 s warm-up, then the measured window.

CPU time and peak RSS come from os.wait4() of the child (user + sys; ru_maxrss): the
whole process life (start-up, JIT, warm-up and window; no prepare). The order of the
implementations rotates from round to round. Medians over the rounds are printed as a
Markdown table with ratios against Java tuned and Java as-shipped.

The server's cost of every run (benches/server_cost.py): CONFIG RESETSTAT before the
client starts, then the redis-server's CPU time (/proc/<pid>/stat) over the client's
life divided by the operations it executed (commandstats calls, administration
commands left out), and INFO commandstats (calls, usec_per_call per command). A
second table gives them per contender, with the ratio against the first contender.

More contenders: --contender NAME=KIND:ARG, KIND `rust` (ARG: a build of the CLI, e.g.
the build before a change) or `java-tuned` / `java-as-shipped` (ARG: a directory of
.lua files for the harness's --scripts-dir, e.g. benches/compare/java-shipped-scripts,
the commands the Java version's own scripts send). Then list NAME in --impls.
--summarise FILE prints the tables again from the runs saved with --out.

  python3 benches/compare/compare.py --rounds 3 --duration-s 5
  python3 benches/compare/compare.py --rounds 1 --duration-s 2 --workloads mixed --concurrency 1,64
  python3 benches/compare/compare.py --workloads mixed --concurrency 64 \
      --contender java-shipped=java-tuned:benches/compare/java-shipped-scripts \
      --contender rust-main=rust:sr-main --impls java-shipped,java-tuned,rust-main,rust
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from server_cost import ServerCost, count_ops, format_commandstats  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NS = "bench:region:logic"

NOTES = [
    "Node, Python, C, Go and the other languages' own clients are driven, interleaved on one "
    "server, by benches/contenders.py (python3 benches/contenders.py --list); this script "
    "compares the CLI with the Java harness.",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_child(argv):
    """Runs argv, returns (stdout, rusage, wall_s)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errf)
        # communicate() would reap the child; read stdout, then wait4 for the rusage.
        out = proc.stdout.read()
        _, status, rusage = os.wait4(proc.pid, 0)
        errf.seek(0)
        err = errf.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0:4]} exited {proc.returncode}: {err.decode()[-2000:]}")
    return out.decode(), rusage, wall


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output: " + text[-500:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration-s", type=float, default=5.0)
    ap.add_argument("--warmup-s", type=float, default=1.0)
    ap.add_argument("--concurrency", default="1,64")
    ap.add_argument("--workloads", default="mixed,get,set")
    ap.add_argument("--impls", default="java-tuned,java-as-shipped,rust")
    ap.add_argument("--jar", default=os.path.join(ROOT, "benches/java/target/stateful-redis-java-harness.jar"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--cli", default=os.path.join(target, "release/stateful-redis"))
    ap.add_argument("--out", help="also write every run as JSON lines to this file")
    ap.add_argument("--no-pin", action="store_true", help="do not use taskset (machines with 1 CPU)")
    ap.add_argument("--summarise", metavar="FILE",
                    help="only print the tables of the runs saved with --out (server figures "
                         "recounted from their commandstats)")
    ap.add_argument("--contender", action="append", default=[], metavar="NAME=KIND:ARG",
                    help="an extra contender: KIND rust (ARG: CLI binary) or java-tuned / "
                         "java-as-shipped (ARG: --scripts-dir of the harness)")
    args = ap.parse_args()
    extra = {}
    for spec in args.contender:
        name, rest = spec.split("=", 1)
        kind, arg = rest.split(":", 1)
        if kind not in ("rust", "java-tuned", "java-as-shipped"):
            sys.exit(f"unknown contender kind {kind}")
        extra[name] = (kind, os.path.abspath(arg))
    if args.summarise:
        runs = [json.loads(line) for line in open(args.summarise) if line.strip()]
        for r in runs:
            calls = {n: s["calls"] for n, s in r["commandstats"].items()}
            r["server_ops"], _ = count_ops(calls, r["workload"])
            r["server_cpu_us_per_op"] = r["server_cpu_s"] / r["server_ops"] * 1e6
            usec = sum(s["calls"] * s["usec_per_call"] for n, s in r["commandstats"].items()
                       if n in ("evalsha", "eval", "mget"))
            r["server_cmd_us_per_op"] = usec / r["server_ops"]
        seen = lambda key: list(dict.fromkeys(r[key] for r in runs))  # noqa: E731
        args.rounds = len(seen("round"))
        print_table(runs, seen("impl"), seen("workload"), seen("concurrency"), args)
        return

    for path in (args.jar, args.cli):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: build it first (mvn package in benches/java; cargo build --release -p stateful-redis-cli)")
    pin0 = [] if args.no_pin else ["taskset", "-c", "0"]
    pin1 = [] if args.no_pin else ["taskset", "-c", "1"]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    workloads = args.workloads.split(",")
    impls = args.impls.split(",")

    work = tempfile.mkdtemp(prefix="stateful-redis-compare.")
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    server = subprocess.Popen(
        pin0 + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", work, "--logfile", os.path.join(work, "redis.log")])
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        cost = ServerCost(port, server.pid)
        version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"# redis-server on {url} ({version}), pinned: {not args.no_pin}", file=sys.stderr)
        runs = []
        out = open(args.out, "a") if args.out else None

        def command(impl, workload, c):
            dur, warm = str(args.duration_s), str(args.warmup_s)
            kind, arg = extra.get(impl, (impl, None))
            if kind.startswith("java-"):
                mode = kind[len("java-"):]
                scripts = ["--scripts-dir", arg] if arg else []
                return pin1 + ["java", "-jar", args.jar, "bench", "--url", url, "--mode", mode,
                               "--schema", "default", "--ns", NS, "--concurrency", str(c),
                               "--duration-s", dur, "--warmup-s", warm, "--uids", "10000",
                               "--services", "4", "--pods", "32", "--workload", workload] + scripts
            if kind == "rust":
                return pin1 + [arg or args.cli, "--url", url, "bench", "--workload", workload,
                               "--concurrency", str(c), "--duration-s", dur, "--warmup-s", warm,
                               "--uids", "10000", "--services", "4", "--pods", "32",
                               "--no-prepare", "--json"]
            raise SystemExit(f"unknown implementation {impl}")

        def prepare():
            subprocess.run(["redis-cli", "-p", str(port), "FLUSHDB"], check=True, capture_output=True)
            run_child([args.cli, "--url", url, "bench", "--workload", "get", "--concurrency", "1",
                       "--duration-s", "0.05", "--warmup-s", "0", "--uids", "10000", "--services", "4",
                       "--pods", "32", "--json"])

        for rnd in range(args.rounds):
            for workload in workloads:
                for c in concurrencies:
                    order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
                    for impl in order:
                        prepare()
                        argv = command(impl, workload, c)
                        cost.start()
                        text, ru, wall = run_child(argv)
                        sc = cost.stop(workload)
                        d = last_json(text)
                        rec = {
                            "impl": impl, "workload": workload, "concurrency": c, "round": rnd,
                            "ops_per_s": d["ops_per_s"], "p50_us": d["p50_us"], "p99_us": d["p99_us"],
                            "errors": d.get("errors", 0), "ops": d.get("ops"),
                            "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_kib": ru.ru_maxrss,
                            "wall_s": wall, "loadavg": os.getloadavg()[0],
                            "server_cpu_us_per_op": sc["cpu_us_per_op"],
                            "server_cmd_us_per_op": sc["cmd_us_per_op"],
                            "server_ops": sc["server_ops"], "server_cpu_s": sc["server_cpu_s"],
                            "commandstats": sc["commandstats"],
                        }
                        runs.append(rec)
                        if out:
                            out.write(json.dumps(rec) + "\n")
                            out.flush()
                        print(f"# round {rnd} {workload} c={c} {impl}: {rec['ops_per_s']:,.0f} ops/s "
                              f"p50 {rec['p50_us']:.1f} p99 {rec['p99_us']:.1f} µs cpu {rec['cpu_s']:.2f} s "
                              f"rss {rec['peak_rss_kib'] / 1024:.0f} MiB errors {rec['errors']} "
                              f"load {rec['loadavg']:.1f}; server {rec['server_cpu_us_per_op']:.1f} µs CPU/op "
                              f"({format_commandstats(rec['commandstats'])})", file=sys.stderr)
        print_table(runs, impls, workloads, concurrencies, args)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def print_table(runs, impls, workloads, concurrencies, args):
    print(f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; machine: "
          f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; load average at end "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Rounds: {args.rounds}; window {args.duration_s} s after {args.warmup_s} s warm-up; medians.")
    print()
    print("| workload | in flight | implementation | ops/s | × Java tuned | × Java as-shipped | p50 µs | p99 µs "
          "| CPU s (process) | CPU ratio vs tuned | peak RSS MiB | RSS ratio vs tuned | errors | ops/s all rounds |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for w in workloads:
        for c in concurrencies:
            med = {}
            for impl in impls:
                g = [r for r in runs if r["impl"] == impl and r["workload"] == w and r["concurrency"] == c]
                if g:
                    med[impl] = ({k: statistics.median(r[k] for r in g)
                                  for k in ("ops_per_s", "p50_us", "p99_us", "cpu_s", "peak_rss_kib")},
                                 sum(r["errors"] for r in g), [r["ops_per_s"] for r in g])
            for impl, (m, errors, all_ops) in med.items():
                def ratio(ref, key, inverse=False):
                    if ref not in med or not med[ref][0][key]:
                        return "—"
                    v = m[key] / med[ref][0][key]
                    return f"{v:.2f}"
                print(f"| {w} | {c} | {impl} | {m['ops_per_s']:,.0f} | {ratio('java-tuned', 'ops_per_s')} "
                      f"| {ratio('java-as-shipped', 'ops_per_s')} | {m['p50_us']:.1f} | {m['p99_us']:.1f} "
                      f"| {m['cpu_s']:.2f} | {ratio('java-tuned', 'cpu_s')} | {m['peak_rss_kib'] / 1024:.1f} "
                      f"| {ratio('java-tuned', 'peak_rss_kib')} | {errors} "
                      f"| {', '.join(f'{x:,.0f}' for x in all_ops)} |")
    print()
    print_server_table(runs, impls, workloads, concurrencies)
    print()
    for n in NOTES:
        print("- " + n)


def print_server_table(runs, impls, workloads, concurrencies):
    """The server's cost per operation, per contender (medians over the rounds)."""
    print(f"Server cost per operation (CPU of redis-server over the run / operations it ran; "
          f"ratio against {impls[0]}):")
    print()
    print("| workload | in flight | implementation | server CPU µs/op | × " + impls[0]
          + " | in scripts + MGET µs/op | per round | commandstats (median usec_per_call × share of calls) |")
    print("|---|---:|---|---:|---:|---:|---|---|")
    for w in workloads:
        for c in concurrencies:
            ref = None
            for impl in impls:
                g = [r for r in runs if r["impl"] == impl and r["workload"] == w and r["concurrency"] == c]
                if not g:
                    continue
                cpu = statistics.median(r["server_cpu_us_per_op"] for r in g)
                cmd = statistics.median(r["server_cmd_us_per_op"] for r in g)
                if ref is None:
                    ref = cpu
                names = sorted({n for r in g for n in r["commandstats"]})
                stats = {}
                for n in names:
                    rs = [r["commandstats"][n] for r in g if n in r["commandstats"]]
                    stats[n] = {"calls": statistics.median(s["calls"] for s in rs),
                                "usec_per_call": statistics.median(s["usec_per_call"] for s in rs)}
                print(f"| {w} | {c} | {impl} | {cpu:.2f} | {cpu / ref:.3f} | {cmd:.2f} "
                      f"| {', '.join('%.2f' % r['server_cpu_us_per_op'] for r in g)} "
                      f"| {format_commandstats(stats)} |")


if __name__ == "__main__":
    main()

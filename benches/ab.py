#!/usr/bin/env python3
"""A/B benchmark of two builds of the `stateful-redis` command on one server.

For a change on the hot path: build the command before and after it, then run
both against one private redis-server pinned to CPU 0, the clients pinned to
CPU 1, alternating A and B in every round so that both see the same machine.
Prints medians and the ratio B / A per workload and concurrency, and the
server's CPU time per operation of each side (redis-server CPU over the run /
operations; see benches/server_cost.py), with its ratio B / A: for a change
that makes the server do less, the column that counts. Not in CI.

    git worktree add /tmp/before <commit> && (cd /tmp/before && \
        cargo build --release -p stateful-redis-cli) && cp .../stateful-redis /tmp/sr-a
    cargo build --release -p stateful-redis-cli && cp target/release/stateful-redis /tmp/sr-b
    python3 benches/ab.py /tmp/sr-a /tmp/sr-b [--rounds 5] [--duration 5]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from baseline import free_port, start_redis  # noqa: E402
from server_cost import ServerCost  # noqa: E402

WORKLOADS = [("get", 1), ("mixed", 1), ("get", 64), ("set", 64), ("mixed", 64)]


def prepare(binary, port):
    """The data set (the CLI's prepare), written once, before anything is measured."""
    subprocess.run([binary, "--url", f"redis://127.0.0.1:{port}", "bench", "--workload", "get",
                    "--concurrency", "1", "--duration-s", "0.05", "--warmup-s", "0", "--json"],
                   check=True, capture_output=True)


def bench(binary, port, cost, workload, concurrency, duration):
    cmd = ["taskset", "-c", "1", binary, "--url", f"redis://127.0.0.1:{port}", "bench",
           "--workload", workload, "--concurrency", str(concurrency),
           "--duration-s", str(duration), "--json", "--no-prepare"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cost.start()
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    server = cost.stop(workload)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The client's CPU time per operation: what stays stable on a shared,
    # noisy machine when ops/s swings with the neighbours' load.
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu_us_per_op = cpu_s / (r["ops_per_s"] * duration) * 1e6
    return r["ops_per_s"], r["p50_us"], r["p99_us"], cpu_us_per_op, server["cpu_us_per_op"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="the build before the change")
    ap.add_argument("b", help="the build after the change")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--workloads", default=",".join(f"{w}:{c}" for w, c in WORKLOADS),
                    help="comma-separated workload:in-flight pairs (default: %(default)s)")
    args = ap.parse_args()
    workloads = [(w, int(c)) for w, c in (p.split(":") for p in args.workloads.split(","))]
    port = free_port()
    server = start_redis(port, tempfile.mkdtemp(prefix="sr-ab-"))
    cost = ServerCost(port, server.pid)
    try:
        prepare(args.a, port)
        results = {(w, c, side): [] for w, c in workloads for side in "ab"}
        for rnd in range(args.rounds):
            for w, c in workloads:
                # Alternate which build goes first, so neither always runs
                # on a warmer (or more loaded) machine.
                order = "ab" if rnd % 2 == 0 else "ba"
                for side in order:
                    binary = args.a if side == "a" else args.b
                    results[(w, c, side)].append(
                        bench(binary, port, cost, w, c, args.duration))
        print(f"{args.rounds} rounds of {args.duration:g} s, alternating; medians; "
              "server on CPU 0, clients on CPU 1\n")
        print("| workload | in flight | A ops/s | B ops/s | B/A (median of round ratios) "
              "| A p50 µs | B p50 µs | A p99 µs | B p99 µs | A client CPU µs/op | B client CPU µs/op "
              "| A server CPU µs/op | B server CPU µs/op | server B/A (median of round ratios) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for w, c in workloads:
            a, b = results[(w, c, "a")], results[(w, c, "b")]
            ratio = statistics.median(rb[0] / ra[0] for ra, rb in zip(a, b))
            sratio = statistics.median(rb[4] / ra[4] for ra, rb in zip(a, b))
            med = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
            print(f"| {w} | {c} | {med(a, 0):,.0f} | {med(b, 0):,.0f} | {ratio:.3f} | "
                  f"{med(a, 1):.0f} | {med(b, 1):.0f} | {med(a, 2):.0f} | {med(b, 2):.0f} | "
                  f"{med(a, 3):.2f} | {med(b, 3):.2f} | {med(a, 4):.2f} | {med(b, 4):.2f} | {sratio:.3f} |")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""First benchmark: this library beside redis-benchmark on the same server.

Starts a private redis-server pinned to CPU 0, then for each workload and
concurrency runs, alternately and ROUNDS times, `stateful-redis bench` and
`redis-benchmark` pinned to CPU 1, and prints a Markdown table of medians and
the ratio of ours to redis-benchmark. Not part of CI (it takes minutes).

    cargo build --release -p stateful-redis-cli
    python3 benches/baseline.py [--rounds 3] [--duration 5]
"""

import argparse
import csv
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "stateful-redis")
NS = "bench:region:logic"
LINK = "sf:{%s:lk:u__rand_int__}svc0" % NS
INDEX = "sf:{%s:lk:u__rand_int__}" % NS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port, workdir):
    proc = subprocess.Popen(
        ["taskset", "-c", "0", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if cli(port, "PING").strip() == "PONG":
                return proc
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], check=True,
                          capture_output=True, text=True).stdout


def ours(port, workload, concurrency, duration, prepare):
    # "mixed-nagle": the mixed workload with TCP_NODELAY off (Nagle batching).
    nagle = workload.endswith("-nagle")
    cmd = ["taskset", "-c", "1", BIN, "--url", f"redis://127.0.0.1:{port}", "bench",
           "--workload", workload.removesuffix("-nagle"), "--concurrency", str(concurrency),
           "--duration-s", str(duration), "--json", "--tcp-nodelay", "false" if nagle else "true"]
    if not prepare:
        cmd.append("--no-prepare")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return r["ops_per_s"], r["p50_us"], r["p99_us"]


def redis_benchmark(port, command, concurrency, requests):
    cmd = ["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-c", str(concurrency),
           "-n", str(requests), "-r", "10000", "--csv", *command]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    row = list(csv.DictReader(io.StringIO(out)))[-1]
    return (float(row["rps"]), float(row["p50_latency_ms"]) * 1000,
            float(row["p99_latency_ms"]) * 1000)


def median_of(runs):
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release -p stateful-redis-cli")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="sr-bench-")
    server = start_redis(port, workdir)
    try:
        with open(os.path.join(ROOT, "core/src/scripts/set_linked_pod.lua")) as f:
            sha = cli(port, "SCRIPT", "LOAD", f.read()).strip()
        rb_commands = {
            "get": ["GET", LINK],
            "set": ["EVALSHA", sha, "2", LINK, INDEX, "svc0", "3", "-1"],
        }
        rows = []
        for concurrency in (1, 64):
            requests = 100_000 if concurrency == 1 else 500_000
            rb = {}
            for name, command in rb_commands.items():
                rb[name] = []
            mine = {"get": [], "set": [], "mixed": [], "mixed-nagle": []}
            for rnd in range(args.rounds):
                for workload in mine:
                    mine[workload].append(
                        ours(port, workload, concurrency, args.duration, prepare=(rnd == 0)))
                for name, command in rb_commands.items():
                    rb[name].append(redis_benchmark(port, command, concurrency, requests))
            for workload in mine:
                m = median_of(mine[workload])
                ceiling_name = "get" if workload == "get" else "set"
                c = median_of(rb[ceiling_name])
                rows.append((workload, concurrency, m, ceiling_name, c))
        print(f"redis-server {cli(port, 'INFO', 'server').split('redis_version:')[1].split()[0]}, "
              f"{args.rounds} rounds of {args.duration:g} s, medians; server on CPU 0, clients on CPU 1\n")
        print("| workload | in flight | ours ops/s | p50 µs | p99 µs | redis-benchmark (" 
              "same command) ops/s | p50 µs | p99 µs | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for workload, conc, m, cname, c in rows:
            label = "GET" if cname == "get" else "EVALSHA set_linked_pod"
            print(f"| {workload} | {conc} | {m[0]:,.0f} | {m[1]:.0f} | {m[2]:.0f} | "
                  f"{c[0]:,.0f} ({label}) | {c[1]:.0f} | {c[2]:.0f} | {m[0] / c[0]:.2f} |")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()

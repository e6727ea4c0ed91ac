#!/usr/bin/env python3
"""Every contender of issue 14, interleaved round by round on one pinned redis-server.

One command (not in CI):

    python3 benches/contenders.py --rounds 3 --duration 5
    python3 benches/contenders.py --rounds 1 --duration 2 --only rust,plain-redis-rs
    python3 benches/contenders.py --list            # the contenders and what each needs
    python3 benches/contenders.py --build ...       # build what is missing first
    # A/B of two builds of the Python extension (the other one in a virtualenv of its own):
    python3 benches/contenders.py --python base=/path/to/venv/bin/python \
        --only py-asyncio64,py-asyncio64@base,redis-py-asyncio64

Workload: PERFORMANCE.md's mixed mix (10,000 uids x 4 services, 32 pods; 40% get, 25%
set, 15% set-if-absent, 10% remove, 10% batch-get of 100; each call = one operation).
One redis-server pinned to CPU 0 (`taskset -c 0`), every client pinned to CPU 1. Before
each contender run: FLUSHDB, the data set written by the CLI's prepare (`stateful-redis
bench`: half of the pairs linked, half of those persistent; pod loads and states), a
check that the server holds the core's scripts under the SHA1 each peer computes, then
CONFIG RESETSTAT. The contender runs its own 1 s warm-up, then the measured window.
The order of the contenders rotates from round to round; the table shows medians.

Columns:
  ops/s, p50, p99       as the contender reports them for its measured window;
  client CPU µs/op      user + sys CPU of the whole client process (os.wait4 rusage:
                        start-up, warm-up and window) / the operations the server ran for
                        it (warm-up + window, counted by commandstats): start-up costs
                        (JVM, Python imports) are in it;
  server CPU µs/op      redis-server utime + stime (/proc/<pid>/stat) over the run / the
                        same operation count;
  EVALSHA/MGET/GET µs   INFO commandstats usec_per_call over the run;
  × peer                ops/s over the language's usual client in the same mode (Rust
                        core: plain redis-rs; Python: redis-py; Node: ioredis);
  × java-tuned          ops/s over the Java harness (tuned) at the same in-flight count.

Writes the table (Markdown) and every run (JSON) to --out (default target/contenders/).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_stats import ServerStats, redis_cli  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
NS = "bench:region:logic"
VENV_PY = os.path.join(ROOT, "benches", ".venv", "bin", "python")
CLI = os.path.join(TARGET, "release", "stateful-redis")
PLAIN_RS = os.path.join(TARGET, "release", "plain-redis-rs")
CLIB = os.path.join(TARGET, "release", "libstateful_redis_c.so")
C_BENCH = os.path.join(TARGET, "contenders", "mixed_c")
GO_BENCH = os.path.join(TARGET, "contenders", "go-redis-bench")
JAR = os.path.join(ROOT, "benches", "java", "target", "stateful-redis-java-harness.jar")
NODE_BENCH = os.path.join(ROOT, "benches", "node", "bench.js")
PY_BENCH = os.path.join(ROOT, "benches", "python_clients.py")


# ------------------------------------------------------------------ prerequisites

@dataclass
class Need:
    """One thing a contender needs: a check and the command that makes it true."""
    what: str
    ok: Callable[[], bool]
    build: str


def exists(path: str) -> Callable[[], bool]:
    return lambda: os.path.exists(path)


def py_imports(*modules: str, python: str = VENV_PY) -> Callable[[], bool]:
    def check() -> bool:
        if not os.path.exists(python):
            return False
        code = "; ".join(f"import {m}" for m in modules)
        return subprocess.run([python, "-c", code], capture_output=True).returncode == 0
    return check


def node_addon() -> bool:
    return any(f.endswith(".node") for f in os.listdir(os.path.join(ROOT, "bindings", "node")))


NEEDS = {
    "cli": Need("release CLI", exists(CLI), "cargo build --release -p stateful-redis-cli"),
    "plain": Need("plain-redis-rs", exists(PLAIN_RS),
                  "cargo build --release -p stateful-redis-compare --bin plain-redis-rs"),
    "clib": Need("C library", exists(CLIB), "cargo build --release -p stateful-redis-c --lib"),
    # The library under its public names, as the CMake install lays it out
    # (benches/c_abi_overhead.sh does the same).
    "c": Need("C bench program", exists(C_BENCH),
              f"d={os.path.dirname(C_BENCH)} && mkdir -p $d && "
              "abi=$(sed -n 's/.*SR_ABI_VERSION: u32 = \\([0-9]*\\);/\\1/p' bindings/c/src/abi.rs) && "
              f"cp {CLIB} $d/libstateful_redis.so.$abi && ln -sf libstateful_redis.so.$abi "
              "$d/libstateful_redis.so && cc -O2 -Iinclude bindings/c/bench/mixed.c "
              f"-o {C_BENCH} -L$d -lstateful_redis -lpthread -Wl,-rpath,$d"),
    "go": Need("go-redis program", exists(GO_BENCH),
               f"cd benches/go && go build -o {GO_BENCH} ."),
    "jar": Need("Java harness", exists(JAR), "cd benches/java && mvn -q -B package -DskipTests"),
    "venv": Need("Python venv with redis, hiredis, valkey-glide",
                 py_imports("redis", "hiredis", "glide", "glide_sync"),
                 "python3 -m venv benches/.venv && benches/.venv/bin/pip install maturin redis "
                 "hiredis valkey-glide valkey-glide-sync"),
    "pyext": Need("stateful_redis in the venv", py_imports("stateful_redis"),
                  "cd bindings/python && VIRTUAL_ENV=$PWD/../../benches/.venv "
                  "../../benches/.venv/bin/maturin develop --release --strip"),
    "npm": Need("ioredis and valkey-glide in benches/node",
                exists(os.path.join(ROOT, "benches", "node", "node_modules", "ioredis")),
                "cd benches/node && npm install --no-audit --no-fund"),
    "addon": Need("the Node addon (release)", node_addon,
                  "cd bindings/node && npm ci --ignore-scripts --no-audit --no-fund && npm run build"),
}


# ------------------------------------------------------------------ the contenders

@dataclass
class Contender:
    name: str          # unique, used by --only
    language: str
    inflight: int      # calls in flight (threads, tasks or loops)
    mode: str          # how the calls are in flight, for the table
    peer: Optional[str]  # the contender this one is compared with (the language's usual client)
    needs: List[str]
    argv: Callable[[str, float, float], List[str]]  # (url, duration, warm-up) -> command line
    java_ref: bool = True  # compared with java-tuned at the same in-flight count
    schema: str = "default"
    notes: List[str] = field(default_factory=list)


def rust_cli(c: int, tcp_nodelay: bool = True) -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: [CLI, "--url", url, "bench", "--workload", "mixed", "--concurrency",
                              str(c), "--duration-s", str(d), "--warmup-s", str(w), "--no-prepare",
                              "--json", "--progress", "never", "--tcp-nodelay", str(tcp_nodelay).lower()]


def plain_rs(c: int, tcp_nodelay: bool = False) -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: [PLAIN_RS, "--url", url, "--concurrency", str(c), "--duration-s",
                              str(d), "--warmup-s", str(w), "--tcp-nodelay", str(tcp_nodelay).lower()]


def c_abi(c: int, thread_connections: int = 0) -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: [C_BENCH, url, str(c), str(d), str(w), str(thread_connections)]


def go_redis(c: int, schema: str = "default") -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: [GO_BENCH, "--url", url, "--concurrency", str(c), "--duration-s", str(d),
                              "--warmup-s", str(w), "--schema", schema, "--scripts-dir",
                              os.path.join(ROOT, "core", "src", "scripts")]


def java(mode: str, c: int) -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: ["java", "-jar", JAR, "bench", "--url", url, "--mode", mode, "--schema",
                              "default", "--ns", NS, "--concurrency", str(c), "--duration-s", str(d),
                              "--warmup-s", str(w), "--uids", "10000", "--services", "4", "--pods",
                              "32", "--workload", "mixed"]


def python(client: str, mode: str, c: int, interpreter: str = VENV_PY,
           thread_connections: int = 0) -> Callable[[str, float, float], List[str]]:
    # python_clients.py warms up with 200 calls (no warm-up seconds).
    return lambda url, d, w: [interpreter, PY_BENCH, "--worker", "--url", url, "--no-prepare", "--client",
                              client, "--mode", mode, "--concurrency", str(c), "--workload", "mixed",
                              "--duration", str(d), "--thread-connections", str(thread_connections)]


def node(client: str, c: int) -> Callable[[str, float, float], List[str]]:
    return lambda url, d, w: ["node", NODE_BENCH, "--url", url, "--client", client, "--inflight",
                              str(c), "--seconds", str(d), "--warmup", str(w), "--workloads", "mix",
                              "--ns", NS]


def python_builds(specs: List[str]) -> Dict[str, str]:
    """--python NAME=INTERPRETER options: another build of stateful_redis (e.g. a
    baseline wheel installed into a virtualenv of its own) for the "py-*" rows."""
    builds: Dict[str, str] = {}
    for spec in specs:
        name, sep, interpreter = spec.partition("=")
        if not sep or not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not interpreter:
            sys.exit(f"--python wants NAME=INTERPRETER (NAME of letters, digits, _.-), not {spec!r}")
        builds[name] = os.path.abspath(interpreter)
        # It needs redis-py too (python_clients.py prepares nothing here, but imports it).
        NEEDS[f"pyext@{name}"] = Need(f"stateful_redis and redis in {interpreter}",
                                      py_imports("stateful_redis", "redis", python=builds[name]),
                                      f"python3 -m venv VENV && VENV/bin/pip install redis hiredis "
                                      f"STATEFUL_REDIS_WHEEL  (then --python {name}=VENV/bin/python)")
    return builds


def contenders(py_builds: Optional[Dict[str, str]] = None) -> List[Contender]:
    out: List[Contender] = []
    for c in (1, 64):
        out += [
            Contender(f"rust-{c}", "Rust", c, "tasks", f"plain-redis-rs-{c}", ["cli"], rust_cli(c)),
            Contender(f"plain-redis-rs-{c}", "Rust", c, "tasks", None, ["cli", "plain"], plain_rs(c)),
            # The same socket option on both sides: the core turns TCP_NODELAY on by
            # default, the redis crate leaves it off (docs/performance.md).
            Contender(f"rust-{c}-nagle", "Rust", c, "tasks, tcp_nodelay false", f"plain-redis-rs-{c}", ["cli"],
                      rust_cli(c, tcp_nodelay=False)),
            Contender(f"plain-redis-rs-{c}-nodelay", "Rust", c, "tasks, TCP_NODELAY on", None, ["cli", "plain"],
                      plain_rs(c, tcp_nodelay=True)),
            Contender(f"c-abi-{c}", "C", c, "threads", None, ["cli", "clib", "c"], c_abi(c)),
            Contender(f"c-abi-{c}-threads", "C", c, "threads, thread_connections", f"c-abi-{c}",
                      ["cli", "clib", "c"], c_abi(c, thread_connections=c)),
            Contender(f"java-tuned-{c}", "Java", c, "loops", None, ["cli", "jar"], java("tuned", c)),
            Contender(f"java-as-shipped-{c}", "Java", c, "loops", "java-tuned-" + str(c), ["cli", "jar"],
                      java("as-shipped", c)),
            Contender(f"go-redis-{c}", "Go", c, "goroutines", None, ["cli", "go"], go_redis(c)),
            # The same on the Java version's keys (link and index in two hash slots);
            # its data set is written by the CLI with --key-schema java.
            Contender(f"go-redis-java-keys-{c}", "Go", c, "goroutines", f"go-redis-{c}", ["cli", "go"],
                      go_redis(c, "java"), schema="java"),
            Contender(f"node-{c}", "Node", c, "in flight", f"ioredis-{c}", ["cli", "npm", "addon"],
                      node("stateful-redis", c)),
            # eventLoopConnection off (on by default): the I/O on the core's thread.
            Contender(f"node-{c}-shared", "Node", c, "in flight, eventLoopConnection false", f"ioredis-{c}",
                      ["cli", "npm", "addon"], node("stateful-redis-shared", c)),
            Contender(f"ioredis-{c}", "Node", c, "in flight", None, ["cli", "npm"], node("ioredis", c)),
            Contender(f"glide-node-{c}", "Node", c, "in flight", f"ioredis-{c}", ["cli", "npm"],
                      node("glide", c)),
        ]
    for mode, c, label in (("sync", 1, "sync, 1 thread"), ("sync", 8, "sync, 8 threads"),
                           ("asyncio", 64, "asyncio, 64 tasks")):
        tag = f"{mode}{c}"
        out += [
            Contender(f"py-{tag}", "Python", c, label, f"redis-py-{tag}", ["cli", "venv", "pyext"],
                      python("stateful_redis", mode, c), java_ref=c in (1, 64)),
            # The option thread_connections: one connection per calling thread,
            # as redis-py's pool has (docs/performance.md).
            *([Contender(f"py-{tag}-threads", "Python", c, label + ", thread_connections",
                         f"redis-py-{tag}", ["cli", "venv", "pyext"],
                         python("stateful_redis", mode, c, thread_connections=c),
                         java_ref=c in (1, 64))] if mode == "sync" else []),
            Contender(f"redis-py-{tag}", "Python", c, label, None, ["cli", "venv"],
                      python("redis-py", mode, c), java_ref=c in (1, 64)),
            Contender(f"glide-py-{tag}", "Python", c, label, f"redis-py-{tag}", ["cli", "venv"],
                      python("valkey-glide", mode, c), java_ref=c in (1, 64)),
        ]
        # Other builds of ours (--python NAME=INTERPRETER): "py-{tag}@NAME".
        for name, interpreter in (py_builds or {}).items():
            out.append(Contender(f"py-{tag}@{name}", "Python", c, label, f"redis-py-{tag}",
                                 ["cli", f"pyext@{name}"], python("stateful_redis", mode, c, interpreter),
                                 java_ref=c in (1, 64)))
            if mode == "sync":
                out.append(Contender(f"py-{tag}-threads@{name}", "Python", c, label + ", thread_connections",
                                     f"redis-py-{tag}", ["cli", f"pyext@{name}"],
                                     python("stateful_redis", mode, c, interpreter, thread_connections=c),
                                     java_ref=c in (1, 64)))
    return out


# ------------------------------------------------------------------ running

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_child(argv: List[str], timeout: float):
    """Runs argv; returns (stdout, stderr, CPU seconds from os.wait4, wall seconds)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {stderr[-1500:]}")
    return stdout, stderr, ru.ru_utime + ru.ru_stime, time.monotonic() - t0


def last_json(text: str) -> Dict:
    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in: " + text[-500:])


def core_script_shas() -> Dict[str, str]:
    """SHA1 of each link script as the peers build it (python_clients.py's builder)."""
    import hashlib
    import python_clients
    return {n: hashlib.sha1(python_clients.script_source(n).encode()).hexdigest()
            for n in ("set_linked_pod", "set_linked_pod_if_absent", "remove_linked_pod")}


def prepare(url: str, port: int, schema: str = "default") -> None:
    """FLUSHDB, then the CLI's data set (its prepare, then a 0.05 s run of GET)."""
    redis_cli(port, "FLUSHDB")
    run_child([CLI, "--url", url, "--key-schema", schema, "bench", "--workload", "get", "--concurrency", "1", "--duration-s",
               "0.05", "--warmup-s", "0", "--json", "--progress", "never"], timeout=300)


# ------------------------------------------------------------------ --scaling (the Rust core)

def cli_run(url: str, pin1: List[str], extra: List[str], d: float, w: float, stats: ServerStats) -> Dict:
    """One CLI bench run (no prepare): its JSON, client CPU and peak RSS, server CPU."""
    stats.reset()
    argv = pin1 + [CLI, "--url", url, "bench", "--duration-s", str(d), "--warmup-s", str(w),
                   "--no-prepare", "--json", "--progress", "never"] + extra
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed")
    d_ = last_json(text)
    workload = extra[extra.index("--workload") + 1] if "--workload" in extra else "mixed"
    srv = stats.delta(workload)
    ops_all = max(1, srv["ops"])
    return {"ops_per_s": d_["ops_per_s"], "p50_us": d_["p50_us"], "p99_us": d_["p99_us"],
            "errors": d_.get("errors", 0), "peak_rss_mib": ru.ru_maxrss / 1024,
            "client_cpu_us_per_op": (ru.ru_utime + ru.ru_stime) / ops_all * 1e6,
            "server_cpu_us_per_op": srv["cpu_s"] / ops_all * 1e6, "server_ops": srv["ops"],
            "usec_per_call": {n: srv["commands"][n]["usec_per_call"] for n in ("evalsha", "mget", "get")
                              if n in srv["commands"]},
            "wall_s": time.monotonic() - t0}


def scaling(url: str, port: int, pin1: List[str], stats: ServerStats, args) -> str:
    """Issue 14's scaling figures for the Rust core through the CLI: in flight 1..256,
    RSS idle and at 256, batch-get of 10/100/1000 uids, a keyspace of 10k vs 1M uids."""
    d, w = args.duration, args.warmup
    cases = [(f"mixed, {c} in flight", ["--workload", "mixed", "--concurrency", str(c)], "10k")
             for c in (1, 4, 16, 64, 256)]
    cases.append(("idle executor (one GET)", ["--workload", "get", "--concurrency", "1", "--count", "1"], "10k"))
    cases += [(f"batch-get of {b} uids, 64 in flight",
               ["--workload", "batch_get_linked_pod", "--batch-size", str(b), "--concurrency", "64"], "10k")
              for b in (10, 100, 1000)]
    big = [("mixed, 64 in flight, 1M uids (1M data set)",
            ["--workload", "mixed", "--concurrency", "64", "--uids", "1000000"], "1M"),
           ("mixed, 64 in flight, 10k uids (1M data set)",
            ["--workload", "mixed", "--concurrency", "64"], "1M")]
    results: Dict[str, List[Dict]] = {}
    for rnd in range(args.rounds):
        k = rnd % len(cases)
        for label, extra, _ in cases[k:] + cases[:k]:
            prepare(url, port)
            r = cli_run(url, pin1, extra, d, 0 if "--count" in extra else w, stats)
            results.setdefault(label, []).append(r)
            print(f"# scaling round {rnd + 1} {label}: {r['ops_per_s']:,.0f} ops/s p99 {r['p99_us']:.0f} µs "
                  f"rss {r['peak_rss_mib']:.1f} MiB", file=sys.stderr, flush=True)
    # The 1M data set is written once (two million links take minutes), then both
    # keyspaces run on it, interleaved; their writes change it as the run goes.
    redis_cli(port, "FLUSHDB")
    t0 = time.monotonic()
    run_child([CLI, "--url", url, "bench", "--workload", "get", "--concurrency", "1", "--duration-s", "0.05",
               "--warmup-s", "0", "--uids", "1000000", "--json", "--progress", "never"], timeout=3600)
    prep_1m = time.monotonic() - t0
    used = redis_cli(port, "INFO", "memory")
    mem_1m = re.search(r"used_memory:(\d+)", used).group(1)
    for rnd in range(args.rounds):
        for label, extra, _ in (big if rnd % 2 == 0 else big[::-1]):
            r = cli_run(url, pin1, extra, d, w, stats)
            results.setdefault(label, []).append(r)
            print(f"# scaling round {rnd + 1} {label}: {r['ops_per_s']:,.0f} ops/s p99 {r['p99_us']:.0f} µs",
                  file=sys.stderr, flush=True)
    lines = ["| case | ops/s | p50 µs | p99 µs | client CPU µs/op | server CPU µs/op | MGET µs/call "
             "| EVALSHA µs/call | client peak RSS MiB | ops/s each round |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for label, _, _ in cases + big:
        g = results.get(label, [])
        if not g:
            continue
        m = {key: statistics.median(r[key] for r in g) for key in
             ("ops_per_s", "p50_us", "p99_us", "client_cpu_us_per_op", "server_cpu_us_per_op", "peak_rss_mib")}
        u = {n: statistics.median(r["usec_per_call"].get(n, 0) for r in g) for n in ("mget", "evalsha")}
        lines.append(f"| {label} | {m['ops_per_s']:,.0f} | {m['p50_us']:.1f} | {m['p99_us']:.1f} | "
                     f"{m['client_cpu_us_per_op']:.1f} | {m['server_cpu_us_per_op']:.1f} | {u['mget']:.1f} | "
                     f"{u['evalsha']:.1f} | {m['peak_rss_mib']:.1f} | "
                     f"{', '.join('{:,.0f}'.format(r['ops_per_s']) for r in g)} |")
    lines += ["", f"1M data set: written once in {prep_1m:.0f} s; server used_memory {int(mem_1m) / 2**20:.0f} MiB."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run")
    ap.add_argument("--only", help="comma-separated contender names or prefixes (e.g. rust,ioredis,py-)")
    ap.add_argument("--python", action="append", default=[], metavar="NAME=INTERPRETER",
                    help="also run the py-* contenders with this interpreter's stateful_redis, named "
                         "py-*@NAME (e.g. a baseline build in a virtualenv of its own, for an A/B)")
    ap.add_argument("--list", action="store_true", help="list the contenders and their prerequisites")
    ap.add_argument("--build", action="store_true", help="run the build command of every missing prerequisite")
    ap.add_argument("--out", default=os.path.join(TARGET, "contenders"), help="where the .md and .json go")
    ap.add_argument("--no-pin", action="store_true", help="no taskset (machines with 1 CPU)")
    ap.add_argument("--scaling", action="store_true",
                    help="instead of the contenders: the Rust core's scaling (in flight 1..256, RSS, "
                         "batch size, keyspace 10k vs 1M uids)")
    args = ap.parse_args()
    if args.scaling:
        args.only = "rust-1"

    chosen = contenders(python_builds(args.python))
    if args.only:
        wanted = args.only.split(",")
        chosen = [c for c in chosen if any(c.name == w or c.name.startswith(w) for w in wanted)]
    if args.list:
        for c in chosen:
            print(f"{c.name:24} {c.language:7} {c.mode:18} in flight {c.inflight:<3} peer {c.peer or '—':22} "
                  f"needs {', '.join(c.needs)}")
        for key, n in NEEDS.items():
            print(f"  {key:6} {'ok' if n.ok() else 'MISSING':8} {n.what}: {n.build}")
        return

    # The C program and the Go program build in seconds: always rebuilt.
    for key in ("c", "go"):
        if any(key in c.needs for c in chosen) and all(NEEDS[k].ok() for k in ("clib",) if key == "c"):
            subprocess.run(NEEDS[key].build, shell=True, cwd=ROOT, check=True)
    missing = {k for c in chosen for k in c.needs if not NEEDS[k].ok()}
    if missing and args.build:
        for k in [k for k in NEEDS if k in missing]:  # in NEEDS order: the C library before the C program
            print(f"# building {NEEDS[k].what}: {NEEDS[k].build}", file=sys.stderr)
            subprocess.run(NEEDS[k].build, shell=True, cwd=ROOT, check=True)
        missing = {k for k in missing if not NEEDS[k].ok()}
    skipped = []
    for c in list(chosen):
        lacking = [k for k in c.needs if k in missing]
        if lacking:
            chosen.remove(c)
            skipped.append((c.name, lacking))
    for k in sorted(missing):
        print(f"MISSING {NEEDS[k].what}; build it with:  {NEEDS[k].build}   (or rerun with --build)",
              file=sys.stderr)
    for name, lacking in skipped:
        print(f"SKIPPED {name}: needs {', '.join(NEEDS[k].what for k in lacking)}", file=sys.stderr)
    if not chosen:
        sys.exit("nothing to run")
    if "cli" in missing:
        sys.exit("the release CLI writes every data set: build it first")

    pin0 = [] if args.no_pin else ["taskset", "-c", "0"]
    pin1 = [] if args.no_pin else ["taskset", "-c", "1"]
    work = tempfile.mkdtemp(prefix="stateful-redis-contenders.")
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    server = subprocess.Popen(pin0 + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", work, "--logfile",
                                      os.path.join(work, "redis.log")])
    runs: List[Dict] = []
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        stats = ServerStats(port, server.pid)
        shas = core_script_shas()
        if args.scaling:
            md = scaling(url, port, pin1, stats, args)
            print(md)
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, f"scaling-{started:%Y%m%dT%H%M%SZ}.md"), "w") as f:
                f.write(md + "\n")
            return
        version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"# {url} ({version}); {len(chosen)} contenders x {args.rounds} rounds x "
              f"{args.duration} s (+{args.warmup} s warm-up)", file=sys.stderr)
        for rnd in range(args.rounds):
            k = rnd * max(1, len(chosen) // max(1, args.rounds)) % len(chosen)
            order = chosen[k:] + chosen[:k]
            for c in order:
                prepare(url, port, c.schema)
                exists_reply = redis_cli(port, "SCRIPT", "EXISTS", *shas.values()).split()
                if exists_reply != ["1"] * len(shas):
                    sys.exit(f"the peers' script text is not the core's (SCRIPT EXISTS {exists_reply}): "
                             "update script_source in benches/python_clients.py")
                stats.reset()
                load0 = os.getloadavg()[0]
                try:
                    text, err, cpu, wall = run_child(pin1 + c.argv(url, args.duration, args.warmup),
                                                     timeout=args.duration * 10 + 120)
                    d = last_json(text)
                except (RuntimeError, ValueError) as e:
                    # Recorded (the table lists failed runs), and not retried: a retry
                    # would run out of the round's order.
                    print(f"# round {rnd + 1} {c.name}: FAILED {e}", file=sys.stderr)
                    runs.append({"contender": c.name, "round": rnd, "failed": str(e)[-500:]})
                    continue
                srv = stats.delta("mixed")
                cmds = srv["commands"]
                ops_all = max(1, srv["ops"])
                rec = {
                    "contender": c.name, "language": c.language, "inflight": c.inflight, "mode": c.mode,
                    "round": rnd, "ops_per_s": d["ops_per_s"], "p50_us": d["p50_us"], "p99_us": d["p99_us"],
                    "ops": d.get("ops"), "errors": d.get("errors", 0), "client_cpu_s": cpu, "wall_s": wall,
                    "server_cpu_s": srv["cpu_s"], "server_ops": srv["ops"],
                    "client_cpu_us_per_op": cpu / ops_all * 1e6,
                    # The Python contenders' own figure: CPU over the measured window only.
                    "window_cpu_us_per_op": d.get("window_cpu_us_per_op"),
                    "server_cpu_us_per_op": srv["cpu_s"] / ops_all * 1e6,
                    "usec_per_call": {n: cmds[n]["usec_per_call"] for n in ("evalsha", "eval", "mget", "get")
                                      if n in cmds},
                    "commandstats": cmds, "loadavg": [load0, os.getloadavg()[0]],
                    "extra": {k: v for k, v in d.items() if k.startswith("loop_delay") or k == "pool_size"},
                }
                runs.append(rec)
                print(f"# round {rnd + 1} {c.name:22} {rec['ops_per_s']:>9,.0f} ops/s p50 {rec['p50_us']:7.1f} "
                      f"p99 {rec['p99_us']:8.1f} µs client {rec['client_cpu_us_per_op']:6.1f} server "
                      f"{rec['server_cpu_us_per_op']:5.1f} µs/op errors {rec['errors']} load {load0:.1f}",
                      file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    md = table(chosen, runs, skipped, args, started, version)
    print(md)
    os.makedirs(args.out, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(args.out, f"contenders-{stamp}.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(args.out, f"contenders-{stamp}.json"), "w") as f:
        json.dump({"started": started.isoformat(), "argv": sys.argv, "redis": version,
                   "machine": machine(), "skipped": skipped, "runs": runs}, f, indent=1)
    print(f"# written: {args.out}/contenders-{stamp}.md and .json", file=sys.stderr)


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()
    except (OSError, AttributeError):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def table(chosen: List[Contender], runs: List[Dict], skipped, args, started, version) -> str:
    ok = [r for r in runs if "failed" not in r]
    med: Dict[str, Dict] = {}
    for c in chosen:
        g = [r for r in ok if r["contender"] == c.name]
        if not g:
            continue
        m = {k: statistics.median(r[k] for r in g) for k in
             ("ops_per_s", "p50_us", "p99_us", "client_cpu_us_per_op", "server_cpu_us_per_op")}
        for n in ("evalsha", "eval", "mget", "get"):
            vals = [r["usec_per_call"][n] for r in g if n in r["usec_per_call"]]
            m[n] = statistics.median(vals) if vals else None
        m["errors"] = sum(r["errors"] for r in g)
        m["all"] = [r["ops_per_s"] for r in g]
        m["rounds"] = len(g)
        med[c.name] = m

    def num(v: Optional[float], fmt: str = "{:.1f}") -> str:
        return "—" if v is None else fmt.format(v)

    def ratio(name: str, ref: Optional[str]) -> str:
        if not ref or ref not in med or name not in med:
            return "—"
        return f"{med[name]['ops_per_s'] / med[ref]['ops_per_s']:.2f}"

    lines = [
        f"Date: {started:%Y-%m-%d %H:%M} UTC; machine: {machine()}; {version.split(' ')[2] if version else ''}; "
        f"load average at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        f"Command: `python3 benches/contenders.py {' '.join(sys.argv[1:])}`; rounds: {args.rounds}, "
        f"{args.duration} s window after {args.warmup} s warm-up; medians; redis-server on CPU 0, "
        f"clients on CPU 1.",
        "",
        "| contender | language | in flight | ops/s | × peer | × java-tuned | p50 µs | p99 µs "
        "| client CPU µs/op | server CPU µs/op | EVALSHA µs/call | EVAL µs/call | MGET µs/call | GET µs/call "
        "| errors | ops/s each round |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in sorted(chosen, key=lambda c: (c.language, c.inflight, c.name)):
        if c.name not in med:
            continue
        m = med[c.name]
        java_ref = f"java-tuned-{c.inflight}" if c.java_ref and not c.name.startswith("java-tuned") else None
        lines.append(
            f"| {c.name} | {c.language} | {c.inflight} ({c.mode}) | {m['ops_per_s']:,.0f} | "
            f"{ratio(c.name, c.peer)}{' vs ' + c.peer if c.peer and c.peer in med else ''} | "
            f"{ratio(c.name, java_ref)} | {m['p50_us']:.1f} | {m['p99_us']:.1f} | "
            f"{m['client_cpu_us_per_op']:.1f} | {m['server_cpu_us_per_op']:.1f} | {num(m['evalsha'])} | "
            f"{num(m['eval'])} | {num(m['mget'])} | {num(m['get'])} | {m['errors']} | "
            f"{', '.join(f'{x:,.0f}' for x in m['all'])} |")
    loop = {c.name: [r["extra"]["loop_delay_p99_ms"] for r in ok
                     if r["contender"] == c.name and "loop_delay_p99_ms" in r["extra"]] for c in chosen}
    loop = {k: v for k, v in loop.items() if v}
    if loop:
        lines += ["", "Node event-loop delay over the window (perf_hooks.monitorEventLoopDelay, 10 ms "
                  "resolution: 10 ms is an idle loop), p99 in ms, median of the rounds (each round): "
                  + "; ".join(f"{k} {statistics.median(v):.1f} ({', '.join(f'{x:.1f}' for x in v)})"
                              for k, v in loop.items()) + "."]
    failed = [r for r in runs if "failed" in r]
    if failed:
        lines += ["", "Failed runs: " + "; ".join(f"{r['contender']} (round {r['round'] + 1})" for r in failed)]
    if skipped:
        lines += ["", "Skipped (prerequisite missing): " +
                  "; ".join(f"{n} ({', '.join(NEEDS[k].what for k in lacking)})" for n, lacking in skipped)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Python clients side by side: stateful_redis vs redis-py (+hiredis) vs valkey-glide.

Every client runs the SAME Lua scripts (core/src/scripts/*.lua, by EVALSHA) and the
same commands on the same keys, against one private redis-server pinned to CPU 0;
each measurement runs in a fresh process pinned to CPU 1. Workload (PERFORMANCE.md):
10,000 uids x 4 services, 32 pods; before each run FLUSHDB and link half of the
pairs (half persistent, half TTL 300). Mix: 40% get_linked_pod, 25% set_linked_pod,
15% set_linked_pod_if_absent (each half persistent, half TTL 300), 10%
remove_linked_pod (half keep -1, half keep 60), 10% batch_get_linked_pod of 100 uids
(one call = one operation). "batch" rows run batch_get_linked_pod only.

Modes: sync with 1 thread, sync with 8 threads sharing one client, asyncio with 64
tasks sharing one client. Each (client, mode, workload) runs ROUNDS times
interleaved; the table shows medians (ops/s, p50, p99 of per-call latency).

    pip install ./bindings/python redis hiredis valkey-glide valkey-glide-sync
    python3 benches/python_clients.py [--rounds 3] [--duration 5] [--json out.json]

One contender run of benches/contenders.py (its server, its data set; one JSON line):

    python3 benches/python_clients.py --worker --url redis://127.0.0.1:6399 --no-prepare \
        --client redis-py --mode asyncio --concurrency 64 --workload mixed --duration 5
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "core", "src", "scripts")
NS = "bench:region:logic"
UIDS = 10_000
SERVICES = ["svc0", "svc1", "svc2", "svc3"]
PODS = 32
BATCH = 100
CLIENTS = ["stateful_redis", "redis-py", "valkey-glide"]
MODES = [("sync", 1), ("sync", 8), ("asyncio", 64)]
WORKLOADS = ["mixed", "batch"]


# The largest pod id (core/src/validate.rs, MAX_POD = i32::MAX): the first line of
# every script the core sends. benches/contenders.py checks with SCRIPT EXISTS that
# the text built here has the SHA1 of the core's.
MAX_POD = 2147483647
HOST = "127.0.0.1"


def script_source(name: str) -> str:
    """The script as the core sends it (core/src/scripts.rs): the MAX_POD line,
    prelude.lua, a newline and the script's file."""
    def read(file: str) -> str:
        with open(os.path.join(SCRIPTS, file), encoding="utf-8") as f:
            return f.read()
    return "local MAX_POD = '%d'\n" % MAX_POD + read("prelude.lua") + "\n" + read(name + ".lua")


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def link_key(uid: str, svc: str) -> str:
    return "sf:{%s:lk:%s}%s" % (NS, uid, svc)


def index_key(uid: str) -> str:
    return "sf:{%s:lk:%s}" % (NS, uid)


def plan(seed: int, n: int, workload: str) -> List[Tuple[Any, ...]]:
    """A precomputed sequence of operations (the same for every client)."""
    rnd = random.Random(seed)
    out: List[Tuple[Any, ...]] = []
    for _ in range(n):
        svc = SERVICES[rnd.randrange(4)]
        uid = "u%d" % rnd.randrange(UIDS)
        r = rnd.random() if workload == "mixed" else 0.95
        if r < 0.40:
            out.append(("get", uid, svc))
        elif r < 0.65:
            out.append(("set", uid, svc, rnd.randrange(PODS), -1 if rnd.random() < 0.5 else 300))
        elif r < 0.80:
            out.append(("absent", uid, svc, rnd.randrange(PODS), -1 if rnd.random() < 0.5 else 300))
        elif r < 0.90:
            out.append(("remove", uid, svc, -1 if rnd.random() < 0.5 else 60))
        else:
            start = rnd.randrange(UIDS - BATCH)
            out.append(("batch", ["u%d" % i for i in range(start, start + BATCH)], svc))
    return out


def pod_of(value: Any) -> Optional[int]:
    return None if value is None else int(value)


# ---------------------------------------------------------------- client adapters
# Each adapter turns a planned operation into the client's call and parses the
# reply into the same Python values stateful_redis returns.

class Shas:
    SET = sha1(script_source("set_linked_pod"))
    ABSENT = sha1(script_source("set_linked_pod_if_absent"))
    REMOVE = sha1(script_source("remove_linked_pod"))


# Options of our Executor in this run (--thread-connections).
OURS_OPTIONS: Dict[str, Any] = {}


def sync_ours(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import stateful_redis
    ex = stateful_redis.Executor(url=f"redis://{HOST}:{port}", **OURS_OPTIONS)

    def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return ex.get_linked_pod(NS, op[1], op[2])
        if kind == "set":
            return ex.set_linked_pod(NS, op[1], op[2], op[3], op[4])
        if kind == "absent":
            return ex.set_linked_pod_if_absent(NS, op[1], op[2], op[3], op[4])
        if kind == "remove":
            return ex.remove_linked_pod(NS, op[1], op[2], op[3])
        return ex.batch_get_linked_pod(NS, op[1], op[2])
    return call


def group(uids: List[str], values: List[Any]) -> Dict[int, List[str]]:
    out: Dict[int, List[str]] = {}
    for uid, v in zip(uids, values):
        if v is not None:
            out.setdefault(int(v), []).append(uid)
    return out


def sync_redispy(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import redis
    r = redis.Redis(host=HOST, port=port)

    def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return pod_of(r.get(link_key(op[1], op[2])))
        if kind == "set":
            return pod_of(r.evalsha(Shas.SET, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], op[4]))
        if kind == "absent":
            return int(r.evalsha(Shas.ABSENT, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], op[4]))
        if kind == "remove":
            return r.evalsha(Shas.REMOVE, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], "") == 1
        return group(op[1], r.mget([link_key(u, op[2]) for u in op[1]]))
    return call


def glide_scripts(module: Any) -> Dict[str, Any]:
    return {name: module.Script(script_source(name))
            for name in ("set_linked_pod", "set_linked_pod_if_absent", "remove_linked_pod")}


def sync_glide(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import glide_sync as g
    client = g.GlideClient.create(g.GlideClientConfiguration([g.NodeAddress(HOST, port)]))
    s = glide_scripts(g)

    def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return pod_of(client.get(link_key(op[1], op[2])))
        keys = [link_key(op[1], op[2]), index_key(op[1])] if kind != "batch" else []
        if kind == "set":
            return pod_of(client.invoke_script(s["set_linked_pod"], keys, [op[2], str(op[3]), str(op[4])]))
        if kind == "absent":
            return int(client.invoke_script(s["set_linked_pod_if_absent"], keys, [op[2], str(op[3]), str(op[4])]))
        if kind == "remove":
            return client.invoke_script(s["remove_linked_pod"], keys, [op[2], str(op[3]), ""]) == 1
        return group(op[1], client.mget([link_key(u, op[2]) for u in op[1]]))
    return call


async def async_ours(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import stateful_redis
    ex = await stateful_redis.AsyncExecutor.connect(url=f"redis://{HOST}:{port}")

    def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return ex.get_linked_pod(NS, op[1], op[2])
        if kind == "set":
            return ex.set_linked_pod(NS, op[1], op[2], op[3], op[4])
        if kind == "absent":
            return ex.set_linked_pod_if_absent(NS, op[1], op[2], op[3], op[4])
        if kind == "remove":
            return ex.remove_linked_pod(NS, op[1], op[2], op[3])
        return ex.batch_get_linked_pod(NS, op[1], op[2])
    return call


async def async_redispy(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import redis.asyncio as aredis
    r = aredis.Redis(host=HOST, port=port)

    async def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return pod_of(await r.get(link_key(op[1], op[2])))
        if kind == "set":
            return pod_of(await r.evalsha(Shas.SET, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], op[4]))
        if kind == "absent":
            return int(await r.evalsha(Shas.ABSENT, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], op[4]))
        if kind == "remove":
            return await r.evalsha(Shas.REMOVE, 2, link_key(op[1], op[2]), index_key(op[1]), op[2], op[3], "") == 1
        return group(op[1], await r.mget([link_key(u, op[2]) for u in op[1]]))
    return call


async def async_glide(port: int) -> Callable[[Tuple[Any, ...]], Any]:
    import glide as g
    client = await g.GlideClient.create(g.GlideClientConfiguration([g.NodeAddress(HOST, port)]))
    s = glide_scripts(g)

    async def call(op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "get":
            return pod_of(await client.get(link_key(op[1], op[2])))
        keys = [link_key(op[1], op[2]), index_key(op[1])] if kind != "batch" else []
        if kind == "set":
            return pod_of(await client.invoke_script(s["set_linked_pod"], keys, [op[2], str(op[3]), str(op[4])]))
        if kind == "absent":
            return int(await client.invoke_script(s["set_linked_pod_if_absent"], keys, [op[2], str(op[3]), str(op[4])]))
        if kind == "remove":
            return await client.invoke_script(s["remove_linked_pod"], keys, [op[2], str(op[3]), ""]) == 1
        return group(op[1], await client.mget([link_key(u, op[2]) for u in op[1]]))
    return call


SYNC = {"stateful_redis": sync_ours, "redis-py": sync_redispy, "valkey-glide": sync_glide}
ASYNC = {"stateful_redis": async_ours, "redis-py": async_redispy, "valkey-glide": async_glide}


# ---------------------------------------------------------------- one measurement

def prepare(port: int) -> None:
    """FLUSHDB, load the scripts, link half of the (uid, service) pairs."""
    import redis
    r = redis.Redis(host=HOST, port=port)
    r.flushdb()
    for name in ("set_linked_pod", "set_linked_pod_if_absent", "remove_linked_pod"):
        r.script_load(script_source(name))
    rnd = random.Random(7)
    pipe = r.pipeline(transaction=False)
    n = 0
    for u in range(UIDS):
        for svc in SERVICES:
            if rnd.random() < 0.5:
                uid = "u%d" % u
                persist = -1 if rnd.random() < 0.5 else 300
                pipe.evalsha(Shas.SET, 2, link_key(uid, svc), index_key(uid), svc, rnd.randrange(PODS), persist)
                n += 1
                if n % 2000 == 0:
                    pipe.execute()
    pipe.execute()
    r.close()


def summarize(latencies: List[int], ops: int, elapsed: float, cpu_s: float) -> Dict[str, float]:
    """cpu_s: the process's CPU time (every thread, user + system) over the measured
    window only, so window_cpu_us_per_op leaves out start-up and warm-up."""
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1000.0  # noqa: E731
    return {"ops_per_s": ops / elapsed, "p50_us": q(0.50), "p99_us": q(0.99), "ops": ops,
            "window_cpu_us_per_op": cpu_s / max(1, ops) * 1e6}


def run_sync(client: str, port: int, threads: int, workload: str, duration: float) -> Dict[str, float]:
    call = SYNC[client](port)
    plans = [plan(100 + t, max(5_000, 50_000 // threads), workload) for t in range(threads)]
    for op in plans[0][:200]:  # warm-up
        call(op)
    lat: List[List[int]] = [[] for _ in range(threads)]
    stop = threading.Event()
    start_barrier = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        mine, out, i, clock = plans[t], lat[t], 0, time.perf_counter_ns
        start_barrier.wait()
        while not stop.is_set():
            op = mine[i % len(mine)]
            i += 1
            t0 = clock()
            call(op)
            out.append(clock() - t0)

    ths = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in ths:
        th.start()
    start_barrier.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    time.sleep(duration)
    stop.set()
    for th in ths:
        th.join()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    merged = [x for part in lat for x in part]
    return summarize(merged, len(merged), elapsed, cpu)


def run_async(client: str, port: int, tasks: int, workload: str, duration: float) -> Dict[str, float]:
    async def main() -> Dict[str, float]:
        call = await ASYNC[client](port)
        plans = [plan(100 + t, max(1_000, 50_000 // tasks), workload) for t in range(tasks)]
        for op in plans[0][:200]:
            await call(op)
        lat: List[int] = []
        deadline = time.perf_counter() + duration

        async def worker(t: int) -> None:
            mine, i, clock = plans[t], 0, time.perf_counter_ns
            while time.perf_counter() < deadline:
                op = mine[i % len(mine)]
                i += 1
                t0 = clock()
                await call(op)
                lat.append(clock() - t0)

        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(t) for t in range(tasks)))
        return summarize(lat, len(lat), time.perf_counter() - t0, time.process_time() - cpu0)

    return asyncio.run(main())


def worker_main(args: argparse.Namespace) -> None:
    global HOST
    if args.url:
        # One contender of benches/contenders.py: its server, its data set.
        from urllib.parse import urlparse
        u = urlparse(args.url)
        HOST, args.port = u.hostname or "127.0.0.1", u.port or 6379
    if not args.no_prepare:
        prepare(args.port)
    if args.thread_connections:
        OURS_OPTIONS["thread_connections"] = args.thread_connections
    if args.mode == "sync":
        result = run_sync(args.client, args.port, args.concurrency, args.workload, args.duration)
    else:
        result = run_async(args.client, args.port, args.concurrency, args.workload, args.duration)
    print(json.dumps(result))


# ---------------------------------------------------------------- orchestration

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available(client: str) -> Optional[str]:
    mods = {"stateful_redis": ["stateful_redis"], "redis-py": ["redis", "hiredis"],
            "valkey-glide": ["glide", "glide_sync"]}[client]
    for m in mods:
        try:
            __import__(m)
        except ImportError as e:
            return f"{m}: {e}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--json", help="write every measurement here")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--client")
    ap.add_argument("--mode")
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--workload")
    ap.add_argument("--port", type=int)
    ap.add_argument("--url", help="with --worker: the server (instead of --port)")
    ap.add_argument("--thread-connections", type=int, default=0,
                    help="our sync Executor's option thread_connections (0: off, the default)")
    ap.add_argument("--no-prepare", action="store_true",
                    help="with --worker: keep the server's data set (the caller wrote it)")
    args = ap.parse_args()
    if args.worker:
        worker_main(args)
        return

    clients = []
    for c in args.clients.split(","):
        missing = available(c)
        if missing:
            print(f"skipping {c}: cannot import {missing}", file=sys.stderr)
        else:
            clients.append(c)
    workdir = tempfile.mkdtemp(prefix="stateful-redis-bench-")
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "0", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: Dict[Tuple[str, str, int, str], List[Dict[str, float]]] = {}
    try:
        time.sleep(0.5)
        cases = [(w, m, c) for w in args.workloads.split(",") for m, c in MODES]
        for rnd in range(args.rounds):
            for workload, mode, conc in cases:
                for client in clients:
                    cmd = ["taskset", "-c", "1", sys.executable, os.path.abspath(__file__), "--worker",
                           "--client", client, "--mode", mode, "--concurrency", str(conc),
                           "--workload", workload, "--port", str(port), "--duration", str(args.duration)]
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration * 10 + 120)
                    if out.returncode != 0:
                        print(f"{client} {mode}x{conc} {workload} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    results.setdefault((client, mode, conc, workload), []).append(r)
                    print(f"round {rnd + 1}: {client:15} {mode}x{conc:<3} {workload:6} "
                          f"{r['ops_per_s']:>10.0f} ops/s  p50 {r['p50_us']:8.1f} us  p99 {r['p99_us']:8.1f} us",
                          file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    med = {k: {f: statistics.median(r[f] for r in v) for f in ("ops_per_s", "p50_us", "p99_us")}
           for k, v in results.items()}
    print("| workload | mode | client | ops/s | p50 µs | p99 µs | ours ÷ this (ops/s) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for workload, mode, conc in [(w, m, c) for w in args.workloads.split(",") for m, c in MODES]:
        ours = med.get(("stateful_redis", mode, conc, workload))
        for client in clients:
            m = med.get((client, mode, conc, workload))
            if not m:
                continue
            ratio = f"{ours['ops_per_s'] / m['ops_per_s']:.2f}×" if ours and client != "stateful_redis" else "—"
            label = f"{mode}, {conc} thread{'s' if conc > 1 else ''}" if mode == "sync" else f"asyncio, {conc} tasks"
            print(f"| {workload} | {label} | {client} | {m['ops_per_s']:,.0f} | {m['p50_us']:.1f} | {m['p99_us']:.1f} | {ratio} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"client": k[0], "mode": k[1], "concurrency": k[2], "workload": k[3], "runs": v}
                       for k, v in results.items()], f, indent=1)


if __name__ == "__main__":
    main()

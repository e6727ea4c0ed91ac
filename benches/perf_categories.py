#!/usr/bin/env python3
"""Where a client's CPU goes, by category, in µs per operation: reads the text of
`perf script -F ip,sym` of call-graph profiles (one per contender) and puts each
sample in the category of its innermost frame that names one (the kernel when the
sample was taken in the kernel). With the operations each profile covered, a
sample's share becomes µs per operation (samples x 1e6 / frequency / operations).
Used for "What bounds the Rust core at 64 in flight" in benches/RESULTS.md. Not in CI.

    taskset -c 1 perf record -F 999 --call-graph dwarf,16384 -o cli.data \\
        target/release/stateful-redis --url URL bench --workload mixed --concurrency 64 \\
        --duration-s 3 --warmup-s 0.5 --no-prepare --json --progress never > cli.json
    taskset -c 1 perf record -F 999 --call-graph dwarf,16384 -o plain.data \\
        target/release/plain-redis-rs --url URL --concurrency 64 --duration-s 3 --warmup-s 0.5 > plain.json
    perf script -i cli.data -F ip,sym > cli.txt; perf script -i plain.data -F ip,sym > plain.txt
    python3 benches/perf_categories.py --hz 999 --seconds-ratio 3.5/3 \\
        plain=plain.txt:OPS_OF_plain.json ours=cli.txt:OPS_OF_cli.json

`--seconds-ratio` scales the operations counted in the measured window to the whole
profile (the warm-up ran too). A category is a regular expression over symbol names;
the first category (in the order below) that an innermost matching frame names wins.
"""

import argparse
import collections
import re
import sys

KERNEL = "kernel (syscalls, wake-ups)"
CATEGORIES = [
    ("response parsing (redis-rs, combine)", r"combine::|redis::parser|ValueCodec"),
    ("reply conversion and results", r"from_redis_value|FromRedisValue|get_owned_inner_value|StoredLink"
                                     r"|parse_pod|btree|BTreeMap"),
    ("driver: latency histograms", r"hdrhistogram"),
    ("driver: uid formatting", r"WorkloadSpec::uid"),
    ("timers (command timeout)", r"tokio::runtime::time|tokio::time::sleep|tokio::time::timeout::timeout"
                                 r"|TimerEntry|clear_entry|Option<tokio::runtime::Timer"),
    ("monitor", r"stateful_redis::monitor"),
    ("validation", r"stateful_redis::validate"),
    ("key building", r"stateful_redis::keys|link_key"),
    ("request encoding", r"redis::cmd::|write_command|write_packed|Cmd::"),
    ("send path (manager, pipeline, channel)", r"multiplexed_connection|connection_manager"
                                               r"|tokio::sync::mpsc|Pipeline|Sink|ReplyWatch|pool::"),
    ("executor and operations (own code)", r"stateful_redis::executor|stateful_redis::ops"
                                           r"|tokio::time::timeout::Timeout"),
    ("driver: loop, random choices", r"plain_redis_rs::caller|workload::worker_loop|workload::run_with"),
    ("tokio scheduler", r"tokio::runtime::scheduler|task::harness|task::raw|tokio::runtime::task"),
]
COMPILED = [(name, re.compile(rx)) for name, rx in CATEGORIES]


def samples(path):
    """Each sample as a list of (ip, symbol), innermost frame first."""
    out, current = [], []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                if current:
                    out.append(current)
                    current = []
                continue
            ip, _, sym = line.partition(" ")
            current.append((ip, sym.strip()))
    if current:
        out.append(current)
    return out


def category(sample):
    if sample[0][0].startswith("ffffffff"):
        return KERNEL
    for _, sym in sample:
        for name, rx in COMPILED:
            if rx.search(sym):
                return name
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profiles", nargs="+", help="NAME=PERF_SCRIPT_TEXT:OPERATIONS")
    ap.add_argument("--hz", type=float, default=999.0, help="perf record's -F")
    ap.add_argument("--seconds-ratio", default="1", help="profiled seconds / measured seconds, e.g. 3.5/3")
    args = ap.parse_args()
    num, _, den = args.seconds_ratio.partition("/")
    ratio = float(num) / float(den or 1)
    columns = []
    for spec in args.profiles:
        name, _, rest = spec.partition("=")
        path, _, ops = rest.rpartition(":")
        if not name or not path or not ops:
            sys.exit(f"want NAME=PERF_SCRIPT_TEXT:OPERATIONS, not {spec!r}")
        counts = collections.Counter(category(s) for s in samples(path))
        columns.append((name, counts, 1e6 / args.hz / (float(ops) * ratio)))
    names = [KERNEL] + [n for n, _ in CATEGORIES] + ["other"]
    print("| category | " + " | ".join(f"{n} µs/op" for n, _, _ in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{c[n] * us:.2f}" for _, c, us in columns) + " |")
    print("| all samples | " + " | ".join(f"{sum(c.values()) * us:.2f}" for _, c, us in columns) + " |")


if __name__ == "__main__":
    main()

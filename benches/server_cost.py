"""What one run costs the redis-server: its CPU time and its INFO commandstats.

Shared by benches/compare/compare.py and benches/ab.py. Around one client run:

    cost = ServerCost(port, server_pid)
    cost.start()          # CONFIG RESETSTAT, server CPU time read from /proc
    ... run the client ...
    c = cost.stop()       # deltas over the client's whole life (warm-up included)

`c["cpu_us_per_op"]` is the server's CPU time (utime + stime of the redis-server
process, /proc/<pid>/stat) over the run divided by the operations the clients
sent over the same interval (warm-up included: the clients report only the
operations of their measured window, so the count comes from the server).

Counting operations: in the benchmark workloads one operation is one command sent
by the client (GET, EVALSHA/EVAL, or one MGET of a batch of 100 on a single
server). But commandstats also counts the commands a script runs (`redis.call`),
and a script may run GET, so top-level GETs cannot be told from a script's. The
count is therefore taken from the commands no script runs: EVALSHA + EVAL + MGET,
divided by their share of the workload's mix, which every client draws uniformly:
in `mixed`, 25% set + 15% if-absent + 10% remove + 10% batch = 0.6 when reads are
plain GETs, 1.0 when a contender reads through a script too (the Java version's
get script); which of the two is told by MGET alone (10% of the mix), and the
relative error of the count is then about 0.5% at 50,000 operations. `set`: 1.0.
For `get` with plain GETs, GET + MGET are the operations. `ops_exact` says
whether the count is exact.

`commandstats` gives, per command, calls and usec_per_call (the time inside the
command; the rest of the server's CPU goes to reading requests, writing replies
and the event loop). The commands a script runs appear there too (their time is
also inside the script's EVALSHA time): `inner` marks them in the tables.
"""

from server_stats import commandstats, process_cpu_s, redis_cli as cli

ADMIN = ("hello", "client", "script", "info", "config", "ping", "command", "select", "auth")
# Commands a client sends as one operation and no script runs.
TOP_LEVEL = ("evalsha", "eval", "mget")
# Share of those commands in a workload's mix: with plain GET reads, and with
# reads through a script (see the module doc); and the share of MGET.
SCRIPT_SHARE = {"mixed": (0.6, 1.0), "set": (1.0, 1.0), "get": (0.0, 1.0)}
MGET_SHARE = {"mixed": 0.1, "set": 0.0, "get": 0.0}


def count_ops(calls, workload):
    """(operations, exact) from commandstats calls {command: calls} (module doc)."""
    if workload not in SCRIPT_SHARE:
        raise ValueError(f"no operation count for workload {workload}")
    top = sum(calls.get(n, 0) for n in TOP_LEVEL)
    plain, scripted = SCRIPT_SHARE[workload]
    if MGET_SHARE[workload]:
        # Which share: the one nearer to what MGET alone says.
        share = top / (calls.get("mget", 0) / MGET_SHARE[workload] or 1)
        reads_scripted = abs(share - scripted) < abs(share - plain)
    else:
        reads_scripted = workload == "set" or calls.get("evalsha", 0) + calls.get("eval", 0) > 0
    if reads_scripted:
        ops, exact = top / scripted, True
    elif workload == "get":
        ops, exact = calls.get("get", 0) + calls.get("mget", 0), True
    else:
        ops, exact = top / plain, False
    return ops, exact


class ServerCost:
    def __init__(self, port, pid):
        self.port, self.pid = port, pid

    def start(self):
        cli(self.port, "CONFIG", "RESETSTAT")
        self.cpu0 = process_cpu_s(self.pid)

    def stop(self, workload):
        cpu = process_cpu_s(self.pid) - self.cpu0
        stats = {name: (int(v["calls"]), int(v["usec"]))
                 for name, v in commandstats(self.port).items()}
        calls = {name: c for name, (c, _) in stats.items()}
        ops, exact = count_ops(calls, workload)
        # Time inside the commands the clients sent (a script's own commands are
        # inside its EVALSHA time): top-level GETs are the GETs no script ran,
        # which cannot be told apart, so this sums only what is unambiguous.
        usec = sum(u for name, (_, u) in stats.items() if name in TOP_LEVEL)
        if workload == "get":
            usec += stats.get("get", (0, 0))[1]
        return {
            "server_cpu_s": cpu,
            "server_ops": ops,
            "ops_exact": exact,
            "cpu_us_per_op": cpu / ops * 1e6 if ops else float("nan"),
            "cmd_us_per_op": usec / ops if ops else float("nan"),  # scripts + MGET (+ GET in `get`)
            "commandstats": {name: {"calls": calls, "usec_per_call": u / calls if calls else 0.0}
                             for name, (calls, u) in stats.items()
                             if name.split("|")[0] not in ADMIN},
        }


def format_commandstats(stats, min_share=0.001):
    """'evalsha 12.1 µs × 50%, get 1.4 µs × 40%, ...' (share of the calls)."""
    total = sum(s["calls"] for s in stats.values()) or 1
    rows = sorted(stats.items(), key=lambda kv: -kv[1]["calls"])
    return ", ".join(f"{name} {s['usec_per_call']:.1f} µs × {s['calls'] / total:.0%}"
                     for name, s in rows if s["calls"] / total >= min_share)

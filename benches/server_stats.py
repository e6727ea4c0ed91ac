"""What one redis-server did during a benchmark run: its CPU time and INFO commandstats.

Used by benches/contenders.py around every contender run:

    stats = ServerStats(port, pid)
    stats.reset()              # CONFIG RESETSTAT, CPU time read
    ... run the client ...
    d = stats.delta()          # {"cpu_s": ..., "commands": {"evalsha": {...}, ...}}

CPU time is utime + stime of the server process from /proc/<pid>/stat (clock ticks,
converted with SC_CLK_TCK); commandstats come from `redis-cli INFO commandstats`
after `CONFIG RESETSTAT`, so they cover exactly the run. Only the standard library
and redis-cli are needed.
"""

import os
import subprocess
from typing import Dict

# The commands that carry a workload operation (one per call); the rest (HELLO,
# SCRIPT LOAD, CLIENT SETINFO, PING, INFO, ...) are connection set-up.
OPERATION_COMMANDS = ("get", "mget", "evalsha", "eval", "fcall")


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], check=True,
                          capture_output=True, text=True).stdout


def commandstats(port: int) -> Dict[str, Dict[str, float]]:
    """INFO commandstats as {command: {calls, usec, usec_per_call, ...}}."""
    out: Dict[str, Dict[str, float]] = {}
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, _, values = line[len("cmdstat_"):].partition(":")
        out[name] = {k: float(v) for k, v in (kv.split("=") for kv in values.split(","))}
    return out


class ServerStats:
    def __init__(self, port: int, pid: int):
        self.port, self.pid = port, pid
        self.cpu0 = 0.0

    def reset(self) -> None:
        redis_cli(self.port, "CONFIG", "RESETSTAT")
        self.cpu0 = process_cpu_s(self.pid)

    def delta(self, workload: str) -> Dict[str, object]:
        """Server CPU seconds since reset(), commandstats since reset(), and the
        operations the server ran. Scripts' own commands are in commandstats too
        (a script's GET counts as a GET), so the mixed, set and get workloads are
        counted as benches/server_cost.py's count_ops does; a workload of one
        operation (e.g. batch_get_linked_pod) by the calls of OPERATION_COMMANDS."""
        from server_cost import SCRIPT_SHARE, count_ops  # server_cost imports this module
        cpu = process_cpu_s(self.pid) - self.cpu0
        stats = commandstats(self.port)
        calls = {name: int(v["calls"]) for name, v in stats.items()}
        if workload in SCRIPT_SHARE:
            ops = count_ops(calls, workload)[0]
        else:
            ops = sum(calls.get(c, 0) for c in OPERATION_COMMANDS)
        return {"cpu_s": cpu, "ops": ops, "commands": stats}

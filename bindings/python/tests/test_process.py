"""Fork, memory and typing: a forked child makes and uses its own executor; RSS stays
bounded over 200,000 calls; `mypy --strict` passes on the typed example."""

import asyncio
import os
import subprocess
import sys
import textwrap
from typing import Any

import stateful_redis

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)


def test_fork_child_creates_its_own_executor(url: str) -> None:
    script = textwrap.dedent(f"""
        import asyncio, os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        import stateful_redis
        url = {url!r}
        parent = stateful_redis.Executor(url=url)
        parent.set_linked_pod("f", "parent", "chat", 1, -1)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                try:
                    parent.get_linked_pod("f", "parent", "chat")
                    code = 3  # an inherited executor must refuse, not hang
                except stateful_redis.ClosedError:
                    pass
                child = stateful_redis.Executor(url=url)
                assert child.get_linked_pod("f", "parent", "chat") == 1
                child.set_linked_pod("f", "child", "chat", 2, -1)
                async def main():
                    ex = await stateful_redis.AsyncExecutor.connect(url=url)
                    assert await ex.get_linked_pod("f", "child", "chat") == 2
                asyncio.run(main())
            except BaseException as e:
                print("child failed:", repr(e), flush=True)
                code = 4
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status), status
        assert os.WEXITSTATUS(status) == 0, os.WEXITSTATUS(status)
        assert parent.get_linked_pod("f", "child", "chat") == 2  # the parent still works
        print("fork ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "fork ok" in out.stdout


def test_fork_child_reuses_the_parents_event_loop(url: str) -> None:
    # The loop's completion queue (and the driver task that runs its calls) was
    # made on the parent's runtime, whose threads the child lacks: a call from the
    # child on that same loop must still run, not hang.
    script = textwrap.dedent(f"""
        import asyncio, os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        import stateful_redis
        url = {url!r}
        loop = asyncio.new_event_loop()
        async def use(tag):
            ex = await stateful_redis.AsyncExecutor.connect(url=url)
            await ex.set_linked_pod("f", tag, "chat", 5, -1)
            got = await asyncio.gather(*(ex.get_linked_pod("f", tag, "chat") for _ in range(20)))
            ex.close()
            return got
        assert loop.run_until_complete(use("parent-loop")) == [5] * 20
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                got = loop.run_until_complete(asyncio.wait_for(use("child-loop"), 30))
                code = 0 if got == [5] * 20 else 3
            except BaseException as e:
                print("child failed:", repr(e), flush=True)
                code = 4
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status), status
        assert os.WEXITSTATUS(status) == 0, os.WEXITSTATUS(status)
        assert loop.run_until_complete(use("parent-again")) == [5] * 20
        print("fork ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "fork ok" in out.stdout


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_bounded_over_200k_calls(url: str, raw: Any) -> None:
    """200,000 calls (sync and asyncio, successes and errors); after a warm-up, RSS
    may not grow by more than 16 MiB."""
    ex = stateful_redis.Executor(url=url)

    async def burst(aex: stateful_redis.AsyncExecutor, n: int, base: int) -> None:
        for start in range(0, n, 500):
            calls = []
            for i in range(start, start + 500):
                uid = f"m{(base + i) % 1000}"
                if i % 4 == 0:
                    calls.append(aex.set_linked_pod("mem", uid, "chat", i % 7, -1))
                elif i % 4 == 1:
                    calls.append(aex.batch_get_linked_pod("mem", [uid, "m1", "m2"], "chat"))
                else:
                    calls.append(aex.get_linked_pod("mem", uid, "chat"))
            await asyncio.gather(*calls)

    def sync_calls(n: int) -> None:
        for i in range(n):
            if i % 10 == 0:
                try:
                    ex.get_linked_pod("mem", "", "chat")
                except stateful_redis.InvalidArgumentError:
                    pass
            else:
                ex.get_linked_pod("mem", f"m{i % 1000}", "chat")

    async def run(n: int, base: int) -> None:
        aex = await stateful_redis.AsyncExecutor.connect(url=url)
        await burst(aex, n, base)

    # warm-up: allocator pools, interned strings, connection buffers
    asyncio.run(run(20_000, 0))
    sync_calls(5_000)
    before = rss_bytes()
    asyncio.run(run(170_000, 1))
    sync_calls(30_000)
    grown = rss_bytes() - before
    print(f"RSS {before / 1048576:.1f} MiB -> {(before + grown) / 1048576:.1f} MiB over 200,000 calls")
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 1048576:.1f} MiB over 200,000 calls"


def test_mypy_strict_on_the_typed_example() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         os.path.join(PKG, "examples", "typed_example.py")],
        capture_output=True, text=True, timeout=300, cwd=PKG)
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubs_match_the_runtime() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "stateful_redis._native"],
        capture_output=True, text=True, timeout=300, cwd=PKG)
    assert out.returncode == 0, out.stdout + out.stderr

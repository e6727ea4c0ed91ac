"""One executor shared by 8 threads (the GIL released during calls); 1,000
concurrent asyncio tasks on one AsyncExecutor; loops closed or cancelled under
pending calls."""

import asyncio
import threading
import time
from typing import Any, List

import pytest

import stateful_redis
from conftest import RedisServer

NS = "conc"


def test_eight_threads_share_one_executor(ex: stateful_redis.Executor, raw: Any) -> None:
    errors: List[BaseException] = []
    per_thread = 500

    def worker(t: int) -> None:
        try:
            for i in range(per_thread):
                uid = f"t{t}-u{i}"
                assert ex.set_linked_pod(NS, uid, "chat", t, -1) is None
                assert ex.get_linked_pod(NS, uid, "chat") == t
                if i % 50 == 0:
                    batch = ex.batch_get_linked_pod(NS, [f"t{t}-u{j}" for j in range(i + 1)], "chat")
                    assert batch == {t: [f"t{t}-u{j}" for j in range(i + 1)]}
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[:3]
    assert raw.execute_command("DBSIZE") == 8 * per_thread * 2  # link + index each


@pytest.mark.parametrize("thread_connections", [0, 2])
def test_the_gil_is_released_during_a_call(url: str, server: RedisServer, thread_connections: int) -> None:
    """While one thread waits on a slow server, another keeps running Python
    (with thread_connections, the waiting thread is blocked in read())."""
    ex = stateful_redis.Executor(url=url, command_timeout_ms=3000, thread_connections=thread_connections)
    # Held for 2 s from the moment CLIENT PAUSE answers, so the call below waits
    # however late it starts.
    server.client().execute_command("CLIENT", "PAUSE", "2000", "ALL")
    done = threading.Event()
    waited = []

    def caller() -> None:
        started = time.monotonic()
        ex.get_linked_pod(NS, "u", "chat")
        waited.append(time.monotonic() - started)
        done.set()

    th = threading.Thread(target=caller)
    th.start()
    spins = 0
    while not done.is_set():
        spins += 1
    th.join()
    assert waited[0] > 0.2
    assert spins > 10_000, spins  # the main thread ran while the call waited


def test_thousand_concurrent_asyncio_tasks(url: str, raw: Any) -> None:
    async def main() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url)

        async def task(i: int) -> int:
            prev = await ex.set_linked_pod(NS, f"a{i}", "chat", i % 32, -1)
            assert prev is None
            pod = await ex.get_linked_pod(NS, f"a{i}", "chat")
            assert pod == i % 32
            ok, cur = await ex.try_set_linked_pod(NS, f"a{i}", "chat", i % 32, -1)
            assert ok and cur == pod
            return pod

        results = await asyncio.gather(*(task(i) for i in range(1000)))
        assert results == [i % 32 for i in range(1000)]
        batch = await ex.batch_get_linked_pod(NS, [f"a{i}" for i in range(1000)], "chat")
        assert sum(len(v) for v in batch.values()) == 1000
        ex.close()

    asyncio.run(main())
    assert raw.execute_command("DBSIZE") == 2000


def test_two_loops_in_two_threads(url: str) -> None:
    errors: List[BaseException] = []

    def run() -> None:
        async def main() -> None:
            ex = await stateful_redis.AsyncExecutor.connect(url=url)
            for i in range(200):
                await ex.set_linked_pod(NS, f"l{threading.get_ident()}-{i}", "chat", 1, -1)
        try:
            asyncio.run(main())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors


def test_cancelled_and_abandoned_calls(url: str, server: RedisServer) -> None:
    """A cancelled future is skipped; a loop closed with calls in flight gets no
    completion (no 'Event loop is closed' error), and later loops work."""
    sleeper = threading.Thread(target=lambda: server.client().execute_command("DEBUG", "SLEEP", "0.3"))

    async def cancel_one() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url, command_timeout_ms=2000)
        sleeper.start()
        await asyncio.sleep(0.05)
        fut = ex.get_linked_pod(NS, "u", "chat")
        fut.cancel()
        try:
            await fut
        except asyncio.CancelledError:
            pass
        assert await ex.get_linked_pod(NS, "u", "chat") is None

    asyncio.run(cancel_one())
    sleeper.join()

    loop = asyncio.new_event_loop()
    ex = loop.run_until_complete(_connect(url))
    sleeper = threading.Thread(target=lambda: server.client().execute_command("DEBUG", "SLEEP", "0.3"))
    sleeper.start()
    time.sleep(0.05)

    async def start_and_leave() -> None:
        for i in range(10):
            ex.get_linked_pod(NS, f"gone{i}", "chat")  # never awaited

    loop.run_until_complete(start_and_leave())
    loop.close()
    sleeper.join()
    time.sleep(0.2)  # the completions arrive for a closed loop and are dropped

    async def again() -> None:
        ex2 = await stateful_redis.AsyncExecutor.connect(url=url)
        assert await ex2.get_linked_pod(NS, "u", "chat") is None

    asyncio.run(again())


async def _connect(url: str) -> stateful_redis.AsyncExecutor:
    return await stateful_redis.AsyncExecutor.connect(url=url)


def test_async_call_outside_a_loop_is_refused(url: str) -> None:
    loop = asyncio.new_event_loop()
    ex = loop.run_until_complete(_connect(url))
    loop.close()
    try:
        ex.get_linked_pod(NS, "u", "chat")
    except RuntimeError as e:
        assert "event loop" in str(e)
    else:
        raise AssertionError("a call outside a running loop must raise RuntimeError")


def test_loop_without_add_reader_falls_back_to_call_soon_threadsafe(url: str) -> None:
    class NoReaderLoop(asyncio.SelectorEventLoop):
        def add_reader(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            raise NotImplementedError

    async def main() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url)
        results = await asyncio.gather(*(ex.set_linked_pod(NS, f"nr{i}", "chat", 2, -1) for i in range(300)))
        assert results == [None] * 300
        assert await ex.get_linked_pod(NS, "nr7", "chat") == 2

    loop = NoReaderLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_threads_on_thread_connections_see_their_own_writes(url: str, raw: Any) -> None:
    """thread_connections=3 with 8 threads: every answer is the caller's own,
    and the executor opens no more than its shared connection and those 3."""
    with stateful_redis.Executor(url=url, thread_connections=3, client_name="py-threads") as ex:
        def worker(t: int) -> None:
            for i in range(200):
                assert ex.set_linked_pod(NS, f"t{t}-{i}", "chat", t, -1) is None
                assert ex.get_linked_pod(NS, f"t{t}-{i}", "chat") == t
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        names = [line for line in raw.execute_command("CLIENT", "LIST").splitlines()
                 if " name=py-threads " in line]
        assert 2 <= len(names) <= 4, names
        assert ex.batch_get_linked_pod(NS, ["t7-199", "t0-0"], "chat") == {7: ["t7-199"], 0: ["t0-0"]}


@pytest.mark.parametrize("thread_connections", [0, 1])
def test_a_signal_during_a_call_fails_nothing(url: str, server: RedisServer, thread_connections: int) -> None:
    """A Python signal handler (CPython installs it without SA_RESTART) that runs
    while the main thread waits in a call: the write still succeeds, once."""
    import os
    import signal
    got: List[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
    try:
        ex = stateful_redis.Executor(url=url, command_timeout_ms=5000, thread_connections=thread_connections)
        assert ex.set_linked_pod(NS, "sig", "chat", 1, -1) is None
        server.client().execute_command("CLIENT", "PAUSE", "2000", "WRITE")
        timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1))
        timer.start()
        assert ex.set_linked_pod(NS, "sig", "chat", 2, -1) == 1
        timer.join()
        assert got == [1]
        assert ex.get_linked_pod(NS, "sig", "chat") == 2
        assert ex.metrics()["pool"]["reconnects"] == 0
    finally:
        signal.signal(signal.SIGUSR1, previous)

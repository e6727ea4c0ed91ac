"""Every operation of SPEC section 3, through the sync and the asyncio API, with
Python types in and out."""

import asyncio
from typing import Any, Iterator

import pytest

import stateful_redis
from conftest import free_port

NS = "app:eu:logic"


def check_all_operations(ex: Any, raw: Any, run: Any) -> None:
    """`run(coro_or_value)` turns the API's result into a value (identity for sync)."""
    assert run(ex.set_service_state(NS, "chat", 1, "online")) is None
    assert run(ex.set_service_state(NS, "chat", 2, "draining")) is None
    raw.execute_command("HSET", "sf:{%s:state:chat}" % NS, "not-a-pod", "x")
    assert run(ex.get_service_state(NS, "chat")) == {1: "online", 2: "draining"}
    assert run(ex.get_service_state(NS, "none")) == {}

    assert run(ex.get_workload_state(NS, "chat")) is None
    assert run(ex.set_workload_state(NS, "chat", "running")) is None
    assert run(ex.get_workload_state(NS, "chat")) == "running"
    assert run(ex.get_workload_states(NS, ["chat", "game"])) == {"chat": "running"}
    assert run(ex.get_workload_states(NS, ("chat",))) == {"chat": "running"}
    assert run(ex.get_workload_states(NS, [])) == {}

    stamp = run(ex.set_pod_load(NS, "game", 3, 50, 0))
    assert isinstance(stamp, int) and stamp > 1_600_000_000_000
    run(ex.set_pod_load(NS, "game", 4, 10, 1))
    loads = run(ex.get_pod_loads(NS, "game"))
    assert loads[3] == {"load": 50, "state": 0, "updated_ms": stamp}
    assert set(loads) == {3, 4}
    assert run(ex.get_pod_loads(NS, "game", fresh_since_ms=stamp + 3_600_000)) == {}
    assert set(run(ex.get_pod_loads(NS, "game", stamp - 1000))) == {3, 4}

    assert run(ex.set_linked_pod(NS, "u1", "chat", 3, -1)) is None
    assert run(ex.set_linked_pod(NS, "u1", "chat", 5, -1)) == 3
    assert run(ex.get_linked_pod(NS, "u1", "chat")) == 5
    assert run(ex.get_linked_pod_if_persist(NS, "u1", "chat")) == 5
    assert run(ex.get_link_service(NS, "u1")) == {"chat": 5}
    assert run(ex.try_set_linked_pod(NS, "u1", "chat", 7, -1)) == (False, 5)
    assert run(ex.try_set_linked_pod(NS, "u1", "chat", 5, 300)) == (True, 5)
    assert run(ex.get_linked_pod_if_persist(NS, "u1", "chat")) is None  # now temporary
    assert run(ex.get_link_service(NS, "u1")) == {}
    assert run(ex.set_linked_pod_if_absent(NS, "u1", "chat", 9, 600)) == 5
    assert 590 <= raw.execute_command("TTL", "sf:{%s:lk:u1}chat" % NS) <= 600
    assert run(ex.set_linked_pod_if_absent(NS, "u2", "chat", 9, -1)) == 9

    by_pod = run(ex.batch_get_linked_pod(NS, ["u2", "nobody", "u1"], "chat"))
    assert by_pod == {9: ["u2"], 5: ["u1"]}
    assert run(ex.batch_get_linked_pod(NS, [], "chat")) == {}
    many = [f"m{i}" for i in range(2500)]
    for uid in many[:3]:
        run(ex.set_linked_pod(NS, uid, "chat", 1, -1))
    assert run(ex.batch_get_linked_pod(NS, many, "chat")) == {1: many[:3]}

    assert run(ex.remove_linked_pod(NS, "u2", "chat", 60)) is True
    assert run(ex.get_linked_pod(NS, "u2", "chat")) == 9  # kept readable for 60 s
    assert 55 <= raw.execute_command("TTL", "sf:{%s:lk:u2}chat" % NS) <= 60
    assert run(ex.remove_linked_pod(NS, "u2", "chat", -1)) is True
    assert run(ex.remove_linked_pod(NS, "u2", "chat", -1)) is False
    assert run(ex.remove_linked_pod_with_id(NS, "u1", "chat", -1, 4)) is False
    assert run(ex.remove_linked_pod_with_id(NS, "u1", "chat", -1, 5)) is True
    assert run(ex.get_linked_pod(NS, "u1", "chat")) is None

    # least loaded eligible pod: 4 has load 10 but state 1
    assert run(ex.compute_linked_pod(NS, "u3", "game", -1, {"max_state": 0})) == 3
    assert run(ex.compute_linked_pod(NS, "u4", "game", -1)) == 4
    assert run(ex.compute_linked_pod(NS, "u4", "game", -1, None)) == 4
    assert run(ex.compute_linked_pod(NS, "u5", "nothing", -1)) is None
    assert run(ex.get_link_service(NS, "u3")) == {"game": 3}


def test_every_operation_sync(ex: stateful_redis.Executor, raw: Any) -> None:
    check_all_operations(ex, raw, lambda v: v)


def test_every_operation_async(url: str, raw: Any) -> None:
    async def main() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url)
        loop = asyncio.get_running_loop()
        pending = []

        def run(awaitable: Any) -> Any:
            # Called from a worker thread: hand the awaitable back to the loop.
            return asyncio.run_coroutine_threadsafe(wrap(awaitable), loop).result(10)

        async def wrap(awaitable: Any) -> Any:
            return await awaitable

        # The checks are written synchronously; run them in a thread whose calls
        # create the awaitables on the loop's thread.
        class Proxy:
            def __getattr__(self, name: str) -> Any:
                def call(*args: Any, **kwargs: Any) -> Any:
                    async def make() -> Any:
                        return await getattr(ex, name)(*args, **kwargs)
                    return make()
                return call

        await loop.run_in_executor(None, check_all_operations, Proxy(), raw, run)
        assert not pending
        async with ex:
            pass
        assert ex.closed

    asyncio.run(main())


def test_async_executor_constructs_without_await_and_connects_on_first_use(
        url: str, raw: Any) -> None:
    """As `redis.asyncio.Redis`: `AsyncExecutor(url=...)` in a newcomer's first
    script, `aclose()`, and `async with AsyncExecutor.connect(...)`."""
    named = "py-lazy"

    async def main() -> None:
        ex = stateful_redis.AsyncExecutor(url=url, client_name=named)
        assert not ex.closed and "not connected" in repr(ex)
        assert named not in _other_client_names(raw), "nothing connected yet"
        assert ex.metrics()["pool"]["connections"] == 0, "the monitor is there already"
        assert await ex.set_linked_pod(NS, "lazy", "chat", 3, -1) is None
        assert await ex.get_linked_pod(NS, "lazy", "chat") == 3
        assert named in _other_client_names(raw)
        assert ex.metrics()["pool"]["connections"] == 1
        assert [o["count"] for o in ex.metrics()["operations"] if o["name"] == "get_linked_pod"] == [1]
        await ex.aclose()
        assert ex.closed
        with pytest.raises(stateful_redis.ClosedError) as info:
            await ex.get_linked_pod(NS, "lazy", "chat")
        assert info.value.operation == "get_linked_pod"

        # async with on the constructed executor connects and closes it.
        async with stateful_redis.AsyncExecutor(url=url) as ex2:
            assert await ex2.get_linked_pod(NS, "lazy", "chat") == 3
        assert ex2.closed

        # async with AsyncExecutor.connect(...) without a double await.
        async with stateful_redis.AsyncExecutor.connect(url=url) as ex3:
            assert isinstance(ex3, stateful_redis.AsyncExecutor)
            assert await ex3.get_linked_pod(NS, "lazy", "chat") == 3
        assert ex3.closed
        # await AsyncExecutor.connect(...) keeps working, and connects at once.
        ex4 = await stateful_redis.AsyncExecutor.connect(url=url, client_name="py-eager")
        assert "py-eager" in _other_client_names(raw)
        await ex4.aclose()

        # Closed before it ever connected: refused, nothing connects.
        ex5 = stateful_redis.AsyncExecutor(url=url)
        ex5.close()
        with pytest.raises(stateful_redis.ClosedError):
            await ex5.get_linked_pod(NS, "lazy", "chat")

        # A failed first connect is reported by the call, and retried by the next.
        nowhere = f"redis://127.0.0.1:{free_port()}"
        down = stateful_redis.AsyncExecutor(url=nowhere, connect_timeout_ms=300)
        with pytest.raises(stateful_redis.ConnectionError):
            await down.get_linked_pod(NS, "lazy", "chat")
        with pytest.raises(stateful_redis.ConnectionError):
            async with stateful_redis.AsyncExecutor.connect(url=nowhere, connect_timeout_ms=300):
                pass

    asyncio.run(main())
    # Bad options are refused at construction, without a loop.
    with pytest.raises(stateful_redis.ConfigError):
        stateful_redis.AsyncExecutor(url=url, connections=0)
    with pytest.raises(stateful_redis.ConfigError):
        stateful_redis.AsyncExecutor.connect(url=url, bogus=1)


def test_keyword_arguments_and_results(ex: stateful_redis.Executor) -> None:
    assert ex.set_linked_pod(ns=NS, uid="k", svc="chat", pod=2, persist=-1) is None
    ok, pod = ex.try_set_linked_pod(ns=NS, uid="k", svc="chat", pod=2, persist=-1)
    assert ok is True and pod == 2
    assert ex.compute_linked_pod(NS, "k", "chat", persist=30, policy={"max_age_ms": 5}) == 2


def test_close_and_context_manager(url: str) -> None:
    with stateful_redis.Executor(url=url) as ex:
        assert not ex.closed
        assert "Executor" in repr(ex)
    assert ex.closed
    with pytest.raises(stateful_redis.ClosedError) as info:
        ex.get_linked_pod(NS, "u", "chat")
    assert info.value.code == "CLOSED" and info.value.operation == "get_linked_pod"


def test_options_are_keyword_arguments(url: str) -> None:
    with stateful_redis.Executor(
        url=url, command_timeout_ms=800, connect_timeout_ms=900, connections=2,
        max_in_flight=1000, retry={"max_attempts": 2, "base_backoff_ms": 1, "max_backoff_ms": 5},
        key_schema="default", monitor=False, tcp_nodelay=True, database=1,
    ) as ex:
        ex.set_linked_pod(NS, "db1", "chat", 1, -1)
        assert ex.get_linked_pod(NS, "db1", "chat") == 1


def _other_client_names(raw: Any) -> "list[str]":
    """The `name=` of every connection in CLIENT LIST but `raw`'s own."""
    own = str(raw.client_id())
    listing = raw.execute_command("CLIENT", "LIST")
    if isinstance(listing, bytes):
        listing = listing.decode()
    if isinstance(listing, str):
        clients = [dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
                   for line in listing.splitlines() if line]
    else:
        clients = [{str(k): str(v) for k, v in c.items()} for c in listing]
    return [c.get("name", "") for c in clients if c.get("id") != own]


def test_client_name_shows_in_client_list(url: str, raw: Any) -> None:
    with stateful_redis.Executor(url=url, client_name="py-router", connections=2) as ex:
        ex.get_linked_pod(NS, "cn", "chat")
        assert _other_client_names(raw).count("py-router") == 2

    async def main() -> None:
        ax = await stateful_redis.AsyncExecutor.connect(url=url, client_name="py-async")
        await ax.get_linked_pod(NS, "cn", "chat")
        assert "py-async" in _other_client_names(raw)
        ax.close()

    asyncio.run(main())


def test_event_loop_connection_is_accepted_and_opens_nothing(url: str, raw: Any) -> None:
    """Node's option: no event loop drives such a connection here, so both
    classes accept it and open only their shared connections."""
    with stateful_redis.Executor(url=url, client_name="py-el", event_loop_connection=True) as ex:
        assert ex.get_linked_pod(NS, "el", "chat") is None
        assert _other_client_names(raw).count("py-el") == 1

    async def main() -> None:
        ax = await stateful_redis.AsyncExecutor.connect(url=url, client_name="py-el-async", event_loop_connection=True)
        assert await ax.get_linked_pod(NS, "el", "chat") is None
        assert _other_client_names(raw).count("py-el-async") == 1
        ax.close()

    asyncio.run(main())


@pytest.mark.parametrize("name", ["two words", "line\nbreak", "", "x" * 129])
def test_a_bad_client_name_connects_nothing(url: str, raw: Any, name: str) -> None:
    before = len(_other_client_names(raw))
    with pytest.raises(stateful_redis.ConfigError) as info:
        stateful_redis.Executor(url=url, client_name=name)
    assert "client_name" in str(info.value)
    if name:
        assert name not in str(info.value)
    # Executors of earlier tests may still be closing their connections.
    assert len(_other_client_names(raw)) <= before


def test_url_from_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEFUL_REDIS_URL", url)
    with stateful_redis.Executor() as ex:
        assert ex.get_linked_pod(NS, "nobody", "chat") is None


def test_module_surface() -> None:
    assert stateful_redis.__version__
    for name in stateful_redis.__all__:
        obj = getattr(stateful_redis, name)
        if isinstance(obj, type):
            assert obj.__doc__, name
    for cls in (stateful_redis.Executor, stateful_redis.AsyncExecutor):
        for name in dir(cls):
            if not name.startswith("_"):
                assert getattr(cls, name).__doc__, f"{cls.__name__}.{name}"

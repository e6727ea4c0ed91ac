"""Every error path: wrong Python types, bad values, configuration, connection,
timeout, authentication, server refusals, unreadable data, closed executors; the
exception hierarchy and its attributes."""

import asyncio
import builtins
import pickle
import time
from typing import Any, Callable

import pytest

import stateful_redis
from stateful_redis import errors
from conftest import RedisServer, free_port

NS = "t"


def raises_code(code: str, fn: Callable[[], Any]) -> stateful_redis.StatefulRedisError:
    with pytest.raises(stateful_redis.StatefulRedisError) as info:
        fn()
    assert info.value.code == code, repr(info.value)
    assert type(info.value) is errors._CLASSES_BY_CODE[code]
    return info.value


def test_hierarchy() -> None:
    assert len(stateful_redis.ERROR_CODES) == 11
    assert stateful_redis.ERROR_CODES[0] == "INVALID_ARGUMENT"
    for code, cls in errors._CLASSES_BY_CODE.items():
        assert issubclass(cls, stateful_redis.StatefulRedisError)
        assert cls.code == code and cls.__doc__
        assert getattr(stateful_redis, cls.__name__) is cls
    assert issubclass(stateful_redis.InvalidArgumentError, TypeError)
    assert issubclass(stateful_redis.InvalidArgumentError, ValueError)
    assert issubclass(stateful_redis.ConfigError, ValueError)
    assert issubclass(stateful_redis.TimeoutError, builtins.TimeoutError)
    assert issubclass(stateful_redis.ConnectionError, builtins.ConnectionError)
    e = stateful_redis.DataError("bad", "DATA", "get_linked_pod", False)
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.code, copy.message, copy.operation, copy.retryable) == ("DATA", "bad", "get_linked_pod", False)
    assert str(copy) == "DATA in get_linked_pod: bad"


WRONG_TYPES = [
    ("set_linked_pod", dict(ns=NS, uid="u", svc="chat", pod="3", persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid="u", svc="chat", pod=True, persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid="u", svc="chat", pod=1.0, persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid="u", svc="chat", pod=2**70, persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid=b"u", svc="chat", pod=1, persist=-1)),
    ("set_linked_pod", dict(ns=None, uid="u", svc="chat", pod=1, persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid="u", svc=["chat"], pod=1, persist=-1)),
    ("set_linked_pod", dict(ns=NS, uid="u", svc="chat", pod=1, persist=None)),
    ("set_service_state", dict(ns=NS, svc="chat", pod=1, state=3)),
    ("set_workload_state", dict(ns=NS, svc="chat", state=None)),
    ("set_pod_load", dict(ns=NS, svc="chat", pod=1, load="9", state=0)),
    ("get_pod_loads", dict(ns=NS, svc="chat", fresh_since_ms="0")),
    ("get_workload_states", dict(ns=NS, svcs="chat")),
    ("get_workload_states", dict(ns=NS, svcs={"chat"})),
    ("batch_get_linked_pod", dict(ns=NS, uids=["a", None], svc="chat")),
    ("batch_get_linked_pod", dict(ns=NS, uids=("a", 1), svc="chat")),
    ("remove_linked_pod", dict(ns=NS, uid="u", svc="chat", keep=False)),
    ("remove_linked_pod_with_id", dict(ns=NS, uid="u", svc="chat", keep=-1, pod="1")),
    ("compute_linked_pod", dict(ns=NS, uid="u", svc="chat", persist=-1, policy=[1])),
    ("compute_linked_pod", dict(ns=NS, uid="u", svc="chat", persist=-1, policy={"max_age": 1})),
    ("compute_linked_pod", dict(ns=NS, uid="u", svc="chat", persist=-1, policy={"max_state": "1"})),
]


@pytest.mark.parametrize("op,args", WRONG_TYPES, ids=[f"{o}-{i}" for i, (o, _) in enumerate(WRONG_TYPES)])
def test_wrong_python_types_are_refused(ex: stateful_redis.Executor, raw: Any, op: str, args: Any) -> None:
    err = raises_code("INVALID_ARGUMENT", lambda: getattr(ex, op)(**args))
    assert isinstance(err, TypeError) and isinstance(err, ValueError)
    assert err.retryable is False
    assert raw.execute_command("DBSIZE") == 0


def test_wrong_types_in_async_calls_raise_at_call_time(url: str) -> None:
    async def main() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url)
        with pytest.raises(stateful_redis.InvalidArgumentError):
            ex.get_linked_pod(NS, 1, "chat")
        with pytest.raises(stateful_redis.InvalidArgumentError):
            await ex.get_linked_pod(NS, "", "chat")
        ex.close()
        with pytest.raises(stateful_redis.ClosedError):
            await ex.get_linked_pod(NS, "u", "chat")

    asyncio.run(main())


def test_bad_values_name_the_operation(ex: stateful_redis.Executor, raw: Any) -> None:
    cases = [
        lambda: ex.set_linked_pod(NS, "u", "chat", -1, -1),
        lambda: ex.set_linked_pod(NS, "u", "chat", 1, 0),
        lambda: ex.set_linked_pod(NS, "u", "chat", 1, -2),
        lambda: ex.remove_linked_pod(NS, "u", "chat", 0),
        lambda: ex.set_linked_pod(NS, "u\x00", "chat", 1, -1),
        lambda: ex.set_linked_pod(NS, "x" * 513, "chat", 1, -1),
        lambda: ex.compute_linked_pod(NS, "u", "chat", -1, {"max_age_ms": 0}),
    ]
    for case in cases:
        err = raises_code("INVALID_ARGUMENT", case)
        assert err.operation in ("set_linked_pod", "remove_linked_pod", "compute_linked_pod")
    assert raw.execute_command("DBSIZE") == 0


@pytest.mark.parametrize("options", [
    {"bogus": 1},
    {"url": "http://127.0.0.1:1"},
    {"url": "not a url"},
    {"url": "rediss://127.0.0.1:1", "tls_ca_file": "/nonexistent/ca.pem"},
    {"url": "redis://127.0.0.1:1", "tls_ca_file": "/nonexistent/ca.pem"},
    {"connections": 0},
    {"connections": 65},
    {"connections": "two"},
    {"command_timeout_ms": 0},
    {"command_timeout_ms": -5},
    {"retry": {"max_attempts": 0}},
    {"retry": {"attempts": 2}},
    {"key_schema": "nope"},
    {"url": object()},
    {"database": -1},
])
def test_config_errors(options: Any) -> None:
    raises_code("CONFIG", lambda: stateful_redis.Executor(**options))

    async def main() -> None:
        with pytest.raises(stateful_redis.ConfigError):
            await stateful_redis.AsyncExecutor.connect(**options)

    asyncio.run(main())


def test_connection_refused() -> None:
    url = f"redis://127.0.0.1:{free_port()}"
    err = raises_code("CONNECTION", lambda: stateful_redis.Executor(url=url, connect_timeout_ms=500))
    assert isinstance(err, builtins.ConnectionError)

    async def main() -> None:
        with pytest.raises(stateful_redis.ConnectionError):
            await stateful_redis.AsyncExecutor.connect(url=url, connect_timeout_ms=500)

    asyncio.run(main())


def test_lost_server_then_recovery() -> None:
    server = RedisServer()
    try:
        ex = stateful_redis.Executor(url=server.url, command_timeout_ms=300, connect_timeout_ms=300)
        ex.set_linked_pod(NS, "u", "chat", 1, -1)
        server.proc.terminate()
        server.proc.wait(10)
        err = raises_code_any(("CONNECTION", "TIMEOUT"), lambda: ex.get_linked_pod(NS, "u", "chat"))
        assert err.retryable is True and err.operation == "get_linked_pod"
    finally:
        server.stop()


def raises_code_any(codes: Any, fn: Callable[[], Any]) -> stateful_redis.StatefulRedisError:
    with pytest.raises(stateful_redis.StatefulRedisError) as info:
        fn()
    assert info.value.code in codes, repr(info.value)
    return info.value


def test_timeout(url: str, raw: Any, server: RedisServer) -> None:
    ex = stateful_redis.Executor(url=url, command_timeout_ms=100, retry={"max_attempts": 1})
    # The server holds every command for 3 s: in effect once CLIENT PAUSE has
    # answered (a DEBUG SLEEP from another thread might start after the call).
    paused = time.monotonic()
    server.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
    err = raises_code("TIMEOUT", lambda: ex.get_linked_pod(NS, "u", "chat"))
    assert time.monotonic() - paused < 3.0  # it did not wait for the server
    assert isinstance(err, builtins.TimeoutError)
    assert err.retryable is True  # a read is safe to repeat
    # Service resumes by itself once the pause ends.
    deadline = time.monotonic() + 20
    while True:
        try:
            assert ex.get_linked_pod(NS, "u", "chat") is None
            break
        except stateful_redis.StatefulRedisError as e:
            assert e.code == "TIMEOUT" and time.monotonic() < deadline, repr(e)


def test_auth_errors_and_no_password_in_messages(url: str, raw: Any, server: RedisServer) -> None:
    raw.execute_command("ACL", "SETUSER", "alice", "on", ">right-secret", "~*", "+@all")
    raw.execute_command("ACL", "SETUSER", "reader", "on", ">reader-secret", "~*", "+get", "+info", "+hello", "+client", "+ping", "+script", "+select")
    try:
        err = raises_code("AUTH", lambda: stateful_redis.Executor(
            url=url, username="alice", password="hunter2-wrong"))
        texts = [str(err), repr(err), str(err.__cause__ or "")]
        assert not any("hunter2" in t for t in texts), texts
        secret_url = f"redis://alice:hunter2-wrong@127.0.0.1:{server.port}"
        err = raises_code("AUTH", lambda: stateful_redis.Executor(url=secret_url))
        assert "hunter2" not in str(err)
        with stateful_redis.Executor(url=url, username="alice", password="right-secret") as ok:
            ok.set_linked_pod(NS, "u", "chat", 1, -1)
        with stateful_redis.Executor(url=url, username="reader", password="reader-secret") as reader:
            assert reader.get_linked_pod(NS, "u", "chat") == 1
            err = raises_code("AUTH", lambda: reader.set_workload_state(NS, "chat", "x"))
            assert err.operation == "set_workload_state"
    finally:
        raw.execute_command("ACL", "DELUSER", "alice", "reader")


def test_server_refusals_are_busy(url: str, raw: Any) -> None:
    ex = stateful_redis.Executor(url=url, retry={"max_attempts": 1})
    raw.execute_command("CONFIG", "SET", "maxmemory", "1")
    try:
        err = raises_code("BUSY", lambda: ex.set_workload_state(NS, "chat", "x"))
        assert err.retryable is True
    finally:
        raw.execute_command("CONFIG", "SET", "maxmemory", "0")
    ex.set_workload_state(NS, "chat", "x")


def test_in_flight_limit_is_busy(url: str) -> None:
    async def main() -> None:
        ex = await stateful_redis.AsyncExecutor.connect(url=url, max_in_flight=2)
        results = await asyncio.gather(
            *(ex.set_linked_pod(NS, f"u{i}", "chat", 1, -1) for i in range(200)), return_exceptions=True)
        busy = [r for r in results if isinstance(r, stateful_redis.BusyError)]
        assert busy and all(r.code == "BUSY" for r in busy)
        assert all(r is None or isinstance(r, stateful_redis.BusyError) for r in results)

    asyncio.run(main())


def test_unreadable_data(ex: stateful_redis.Executor, raw: Any) -> None:
    raw.execute_command("SET", "sf:{t:lk:u1}chat", "garbage")
    err = raises_code("DATA", lambda: ex.get_linked_pod(NS, "u1", "chat"))
    assert "sf:{t:lk:u1}chat" in err.message
    raw.execute_command("SET", "sf:{t:state:game}", "not-a-hash")
    err = raises_code("DATA", lambda: ex.get_service_state(NS, "game"))
    assert err.__cause__ is not None  # the Redis client's error, chained
    assert "WRONGTYPE" in str(err.__cause__)


def test_closed(url: str) -> None:
    ex = stateful_redis.Executor(url=url)
    ex.close()
    err = raises_code("CLOSED", lambda: ex.set_linked_pod(NS, "u", "chat", 1, -1))
    assert err.retryable is False

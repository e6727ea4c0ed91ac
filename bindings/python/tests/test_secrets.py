"""No password in any exception text (SPEC section 4, docs/secrets.md): whatever
the shape of the password and the URL, through keyword arguments, the URL and
STATEFUL_REDIS_URL, for Executor and AsyncExecutor alike. The canary's "7Qz" is
looked for, so a percent-encoded copy counts as a leak too."""

import asyncio
from typing import Any, Callable, List
from urllib.parse import quote

import pytest

import stateful_redis
from conftest import RedisServer, free_port

CANARY = "Canary-7Qz!pw"
MARK = "7Qz"
NUMBER = "7731000000"  # a password given as a number
PASSWORDS = [CANARY, "Can@ry-7Qz@pw", "a:b/7Qz:c", "x%40y-7Qz", "has space 7Qz", "7Qz//x"]


def texts_of(err: BaseException) -> List[str]:
    """str, repr and args of the exception and of every __cause__/__context__."""
    out: List[str] = []
    seen = set()
    todo: List[Any] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out += [str(e), repr(e), repr(e.args)]
        out += [repr(getattr(e, name, None)) for name in ("message", "code", "operation")]
        todo += [e.__cause__, e.__context__]
    return out


def assert_no_canary(fn: Callable[[], Any], case: str) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    for text in texts_of(info.value):
        assert MARK not in text, f"{case}: password printed: {text}"
        assert NUMBER not in text, f"{case}: number printed: {text}"
    return info.value


def both(case: str, **options: Any) -> BaseException:
    """The same options to Executor and to AsyncExecutor.connect."""
    err = assert_no_canary(lambda: stateful_redis.Executor(**options), case)

    async def main() -> None:
        await stateful_redis.AsyncExecutor.connect(**options)

    assert_no_canary(lambda: asyncio.run(main()), case + " (async)")
    return err


def bad_urls(pw: str) -> List[str]:
    return [
        f"redis://u:{pw}@127.0.0.1:notaport",
        f"redis:/u:{pw}@127.0.0.1:6379",
        f"redis//u:{pw}@127.0.0.1:6379",
        f"redis:u:{pw}@127.0.0.1:6379",
        f"redis://:{pw}@127.0.0.1:bad",
        f"rediss://u:{pw}@127.0.0.1:bad",
        f"http://u:{pw}@127.0.0.1:6379",
        f"u:{pw}@127.0.0.1:6379",
        f"unix://?pass={pw}",
        f"unix:relative?password={pw}",
    ]


@pytest.mark.parametrize("pw", PASSWORDS)
def test_bad_urls(pw: str) -> None:
    for url in bad_urls(pw):
        err = both(url, url=url, connect_timeout_ms=300)
        assert isinstance(err, stateful_redis.StatefulRedisError), repr(err)
        both(url + " as a cluster seed", cluster_nodes=["redis://127.0.0.1:7000", url])


WRONG_TYPES: List[Any] = [
    {"password": 7_731_000_000},
    {"password": True},
    {"password": [CANARY]},
    {"password": (CANARY,)},
    {"password": {"value": CANARY}},
    {"password": CANARY.encode()},
    {"password": 1.5},
    {"database": CANARY},
    {"connections": CANARY},
    {"username": "u", "password": CANARY, "connect_timeout_ms": CANARY},
    {"retry": {"max_attempts": CANARY}},
    {"key_schema": CANARY},
    {"cluster_nodes": f"redis://u:{CANARY}@127.0.0.1:7000"},
    {"cluster_nodes": [7, CANARY]},
    {"url": ["redis://h", CANARY]},
    {"monitor": CANARY},
    {"password": CANARY + "\udc80"},
]


@pytest.mark.parametrize("options", WRONG_TYPES)
def test_options_of_the_wrong_type(options: Any) -> None:
    err = both(repr(options), **options)
    assert isinstance(err, stateful_redis.ConfigError), repr(err)


def test_the_error_names_the_option_and_the_type() -> None:
    err = both("password=1234", password=1234)
    assert "`password`" in str(err) and "a string" in str(err), str(err)
    assert "1234" not in str(err)


def test_unreachable_server_with_a_password() -> None:
    port = free_port()
    for pw in PASSWORDS:
        both(pw, url=f"redis://u:{quote(pw, safe='')}@127.0.0.1:{port}", connect_timeout_ms=300)
        both(pw, url=f"redis://127.0.0.1:{port}", username="u", password=pw, connect_timeout_ms=300)
        both(pw, url=f"redis://:{quote(pw, safe='')}@127.0.0.1:{port}", connect_timeout_ms=300)


def test_wrong_password_on_a_real_server() -> None:
    server = RedisServer()
    try:
        server.client().execute_command("CONFIG", "SET", "requirepass", "the-right-one")
        for pw in PASSWORDS:
            err = both(pw, url=server.url, password=pw)
            assert getattr(err, "code", None) == "AUTH", repr(err)
            both(pw, url=f"redis://default:{quote(pw, safe='')}@127.0.0.1:{server.port}")
    finally:
        server.stop()


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for url in bad_urls(CANARY):
        monkeypatch.setenv("STATEFUL_REDIS_URL", url)
        both("STATEFUL_REDIS_URL=" + url, connect_timeout_ms=300)

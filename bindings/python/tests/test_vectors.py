"""Every conformance vector of tests/vectors (format: tests/vectors/README.md), run
through the synchronous and the asyncio API."""

import asyncio
import glob
import json
import os
import re
import time
from typing import Any, Callable, Dict

import pytest

import stateful_redis
from conftest import VECTORS

FILES = sorted(glob.glob(os.path.join(VECTORS, "*.json")))


def test_the_full_vector_set_is_there() -> None:
    assert len(FILES) >= 15


def expand(value: Any) -> Any:
    if isinstance(value, dict):
        if "$repeat" in value:
            s, n = value["$repeat"]
            return s * n
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        if "$any" in expected:
            return True
        if "$range" in expected:
            lo, hi = expected["$range"]
            return isinstance(actual, int) and not isinstance(actual, bool) and lo <= actual <= hi
        if "$regex" in expected:
            return isinstance(actual, str) and re.search(expected["$regex"], actual) is not None
        return (isinstance(actual, dict) and len(expected) == len(actual)
                and all(k in actual and matches(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(matches(e, a) for e, a in zip(expected, actual)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def encode(op: str, result: Any) -> Any:
    """A Python result in the JSON encoding of the vectors."""
    if op == "try_set_linked_pod":
        ok, pod = result
        assert isinstance(ok, bool) and isinstance(pod, int)
        return {"ok": ok, "pod": pod}
    if isinstance(result, dict):
        for key in result:  # pods come back as int keys, services as str keys
            assert isinstance(key, (int, str))
    # JSON turns int dict keys into strings, as the vectors write them.
    return json.loads(json.dumps(result))


def run_vector(path: str, raw: Any, call: Callable[[str, Dict[str, Any]], Any]) -> int:
    with open(path, encoding="utf-8") as f:
        vector = json.load(f)
    assert vector["description"]
    raw.execute_command("FLUSHALL")
    name = os.path.basename(path)
    for i, step in enumerate(vector["steps"]):
        at = f"{name} step {i}"
        if "sleep_ms" in step:
            time.sleep(step["sleep_ms"] / 1000)
        elif "redis" in step:
            reply = raw.execute_command(*step["redis"])
            if "expect" in step:
                assert matches(step["expect"], reply), f"{at}: {step['redis']} gave {reply!r}"
        else:
            op = step["op"]
            args = expand(step.get("args", {}))
            if "error" in step:
                with pytest.raises(stateful_redis.StatefulRedisError) as info:
                    call(op, args)
                assert info.value.code == step["error"], f"{at}: {op} raised {info.value!r}"
                assert isinstance(info.value, stateful_redis.errors._CLASSES_BY_CODE[step["error"]])
                if step["error"] == "INVALID_ARGUMENT":
                    assert isinstance(info.value, (TypeError, ValueError))
            else:
                result = encode(op, call(op, args))
                assert matches(step["expect"], result), f"{at}: {op} gave {result!r}, expected {step['expect']!r}"
    return len(vector["steps"])


@pytest.mark.parametrize("thread_connections", [0, 1], ids=["shared", "thread_connections"])
@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_vector_sync(path: str, url: str, raw: Any, thread_connections: int) -> None:
    with stateful_redis.Executor(url=url, thread_connections=thread_connections) as ex:
        run_vector(path, raw, lambda op, args: getattr(ex, op)(**args))


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_vector_async(path: str, url: str, raw: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        async def connect() -> stateful_redis.AsyncExecutor:
            return await stateful_redis.AsyncExecutor.connect(url=url)

        ex = loop.run_until_complete(connect())

        def call(op: str, args: Dict[str, Any]) -> Any:
            async def one() -> Any:
                return await getattr(ex, op)(**args)
            return loop.run_until_complete(one())

        run_vector(path, raw, call)
        ex.close()
    finally:
        loop.close()

"""The performance monitor through Python: the snapshot validates against the
repository's JSON Schema, Prometheus text, reset, application operations, alerts
delivered to a Python callable, suggestions and the two optimizers."""

import asyncio
import datetime
import json
import os
import threading
from typing import Any, Dict, List

import jsonschema
import pytest

import stateful_redis
from conftest import ROOT

NS = "mon"

with open(os.path.join(ROOT, "schemas", "metrics_snapshot.schema.json"), encoding="utf-8") as f:
    SCHEMA = json.load(f)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate(snapshot: Dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(snapshot), key=str)
    assert not errors, [e.message for e in errors[:5]]


def op(snapshot: Dict[str, Any], name: str) -> Dict[str, Any]:
    return next(o for o in snapshot["operations"] if o["name"] == name)


def test_snapshot_validates_and_counts(ex: stateful_redis.Executor) -> None:
    validate(ex.metrics())
    for i in range(20):
        ex.set_linked_pod(NS, f"u{i}", "chat", 1, -1)
        ex.get_linked_pod(NS, f"u{i}", "chat")
    with pytest.raises(stateful_redis.InvalidArgumentError):
        ex.get_linked_pod(NS, "", "chat")
    ex.batch_get_linked_pod(NS, [f"u{i}" for i in range(20)], "chat")
    snap = ex.metrics()
    validate(snap)
    assert [o["name"] for o in snap["operations"][:2]] == ["set_service_state", "get_service_state"]
    get = op(snap, "get_linked_pod")
    assert get["count"] == 21 and get["errors"] == 1
    assert op(snap, "set_linked_pod")["count"] == 20
    assert snap["errors_by_code"]["INVALID_ARGUMENT"] >= 1
    assert get["latency_ms"]["max"] >= get["latency_ms"]["p50"] > 0
    assert snap["scripts"]["evalsha_calls"] >= 20


def test_reset_and_application_operations(ex: stateful_redis.Executor) -> None:
    ex.get_linked_pod(NS, "u", "chat")
    ex.record_operation("checkout", 0.0025, True)
    ex.record_operation("checkout", datetime.timedelta(milliseconds=4), False)
    snap = ex.metrics()
    validate(snap)
    checkout = op(snap, "checkout")
    assert checkout["count"] == 2 and checkout["errors"] == 1
    closed = ex.reset_metrics()
    validate(closed)
    assert op(closed, "get_linked_pod")["count"] == 1
    after = ex.metrics()
    assert op(after, "get_linked_pod")["count"] == 0
    for bad in (-1.0, float("nan"), "1", True):
        with pytest.raises(stateful_redis.InvalidArgumentError):
            ex.record_operation("x", bad, True)  # type: ignore[arg-type]
    with pytest.raises(stateful_redis.InvalidArgumentError):
        ex.record_operation("x", 0.1, 1)  # type: ignore[arg-type]


def test_prometheus_text(ex: stateful_redis.Executor) -> None:
    ex.get_linked_pod(NS, "u", "chat")
    text = ex.metrics_prometheus()
    assert "# TYPE" in text and "get_linked_pod" in text


def test_alert_callback(ex: stateful_redis.Executor) -> None:
    events: List[Dict[str, Any]] = []
    got = threading.Event()
    threads: List[str] = []

    def on_alert(event: Dict[str, Any]) -> None:
        threads.append(threading.current_thread().name)
        events.append(event)
        if event["state"] == "firing":
            got.set()

    sub = ex.subscribe_alerts(on_alert)
    ex.set_alert_threshold("get_linked_pod.p99_ms", 0.000001)
    for i in range(10):
        ex.get_linked_pod(NS, f"u{i}", "chat")
    ex.evaluate_alerts()
    assert got.wait(10), events
    firing = next(e for e in events if e["state"] == "firing")
    assert firing["metric"] == "get_linked_pod.p99_ms" and firing["threshold"] == 0.000001
    assert firing["value"] > firing["threshold"]
    snap = ex.metrics()
    validate(snap)
    assert any(a["metric"] == "get_linked_pod.p99_ms" for a in snap["alerts"])
    assert ex.unsubscribe_alerts(sub) is True
    assert ex.unsubscribe_alerts(sub) is False
    assert ex.remove_alert("get_linked_pod.p99_ms") is True
    with pytest.raises(stateful_redis.StatefulRedisError):
        ex.set_alert_threshold("no_such_metric", 1.0)
    with pytest.raises(stateful_redis.InvalidArgumentError):
        ex.subscribe_alerts(42)  # type: ignore[arg-type]


def test_alert_options_errors_name_the_option_never_the_value(ex: stateful_redis.Executor) -> None:
    with pytest.raises(stateful_redis.InvalidArgumentError) as bad_direction:
        ex.set_alert("get_linked_pod.p99_ms", 1.0, direction="s3cret")  # type: ignore[arg-type]
    assert "direction" in str(bad_direction.value) and "s3cret" not in str(bad_direction.value)
    with pytest.raises(stateful_redis.InvalidArgumentError) as negative:
        ex.set_alert("get_linked_pod.p99_ms", 1.0, sustain_ms=-1)
    assert "sustain_ms" in str(negative.value)
    with pytest.raises(stateful_redis.InvalidArgumentError):
        ex.set_alert("get_linked_pod.p99_ms", 1.0, hysteresis=float("nan"))
    ex.set_alert("get_linked_pod.p99_ms", 5.0, sustain_ms=0, hysteresis=0.1, direction="below")
    assert ex.remove_alert("get_linked_pod.p99_ms") is True


def test_alert_callback_exceptions_do_not_end_delivery(ex: stateful_redis.Executor) -> None:
    calls: List[str] = []
    ok = threading.Event()

    def flaky(event: Dict[str, Any]) -> None:
        calls.append(event["state"])
        if len(calls) == 1:
            raise RuntimeError("callback bug")
        ok.set()

    unraisable: List[Any] = []
    import sys
    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        ex.subscribe_alerts(flaky)
        ex.set_alert("*.error_rate", 0.01, sustain_ms=0, hysteresis=0.1, direction="above")
        for _ in range(5):
            with pytest.raises(stateful_redis.InvalidArgumentError):
                ex.get_linked_pod(NS, "", "chat")
        ex.evaluate_alerts()
        ex.reset_metrics()
        for _ in range(5):
            ex.get_linked_pod(NS, "u", "chat")
        ex.evaluate_alerts()
        assert ok.wait(10), calls
    finally:
        sys.unraisablehook = old
    assert unraisable and "callback bug" in str(unraisable[0].exc_value)


def test_suggestions_and_optimizers(ex: stateful_redis.Executor) -> None:
    suggestions = ex.optimization_suggestions()
    assert isinstance(suggestions, list)
    for s in suggestions:
        assert {"id", "severity", "message", "evidence"} <= set(s)
    pool = ex.optimize_connection_pool()
    assert {"changed", "connections_before", "connections_after", "reason"} <= set(pool)
    scripts = ex.optimize_lua_scripts()
    assert scripts["scripts"] >= 5 and scripts["loaded"] == scripts["scripts"]


def test_script_flush_is_repaired_by_optimize_lua_scripts(ex: stateful_redis.Executor, raw: Any) -> None:
    raw.execute_command("SCRIPT", "FLUSH")
    report = ex.optimize_lua_scripts()
    assert report["changed"] is True and "set_linked_pod" in report["missing_before"]
    ex.set_linked_pod(NS, "u", "chat", 1, -1)
    assert ex.metrics()["scripts"]["noscript_reloads"] == 0


def test_async_executor_monitor(url: str) -> None:
    async def main() -> None:
        async with await stateful_redis.AsyncExecutor.connect(url=url) as ex:
            await asyncio.gather(*(ex.get_linked_pod(NS, f"u{i}", "chat") for i in range(50)))
            snap = ex.metrics()
            validate(snap)
            assert op(snap, "get_linked_pod")["count"] == 50
            assert "get_linked_pod" in ex.metrics_prometheus()
            ex.record_operation("app", 0.001, True)
            got = asyncio.Event()
            loop = asyncio.get_running_loop()
            ex.subscribe_alerts(lambda e: loop.call_soon_threadsafe(got.set))
            ex.set_alert_threshold("get_linked_pod.p99_ms", 0.000001)
            ex.evaluate_alerts()
            await asyncio.wait_for(got.wait(), 10)
            assert isinstance(ex.optimization_suggestions(), list)
            assert "changed" in await ex.optimize_connection_pool()
            assert (await ex.optimize_lua_scripts())["loaded"] >= 5
            validate(ex.reset_metrics())

    asyncio.run(main())


def _schema_type_matches(schema: Dict[str, Any], hint: Any, path: str) -> None:
    """`hint` (a type of stateful_redis.types) is what the JSON Schema `schema`
    describes at `path`: every object of the schema is a TypedDict with exactly its
    properties, required ones required."""
    import typing

    if "$ref" in schema:
        resolved = SCHEMA
        for part in schema["$ref"].lstrip("#/").split("/"):
            resolved = resolved[part]
        schema = {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if "const" in schema:
        assert hint is type(schema["const"]), path
    elif "enum" in schema and schema.get("type") != "object":
        assert origin is typing.Literal and set(args) == set(schema["enum"]), (path, hint)
    elif schema.get("type") == "integer":
        assert hint is int, (path, hint)
    elif schema.get("type") == "number":
        assert hint is float, (path, hint)
    elif schema.get("type") == "string":
        assert hint is str, (path, hint)
    elif schema.get("type") == "array":
        assert origin is list, (path, hint)
        _schema_type_matches(schema["items"], args[0], path + "[]")
    elif schema.get("type") == "object" and "properties" in schema:
        assert hasattr(hint, "__required_keys__"), (path, hint)  # a TypedDict
        hints = typing.get_type_hints(hint)
        assert set(hints) == set(schema["properties"]), (
            f"{path}: the TypedDict {hint.__name__} lacks "
            f"{sorted(set(schema['properties']) - set(hints))}, has extra "
            f"{sorted(set(hints) - set(schema['properties']))}")
        assert set(hint.__required_keys__) == set(schema.get("required", [])), path
        for key, sub in schema["properties"].items():
            _schema_type_matches(sub, hints[key], f"{path}.{key}")
    elif schema.get("type") == "object":
        assert origin is dict and args[0] is str, (path, hint)
        _schema_type_matches(schema["additionalProperties"], args[1], path + "{}")
    else:
        raise AssertionError(f"{path}: no rule for {schema}")


def test_metrics_snapshot_typeddict_matches_the_schema() -> None:
    """types.MetricsSnapshot (the return type of metrics() in the stubs) has every
    field of schemas/metrics_snapshot.schema.json with its type, and no other."""
    from stateful_redis.types import MetricsSnapshot

    _schema_type_matches(SCHEMA, MetricsSnapshot, "snapshot")
    with open(os.path.join(os.path.dirname(stateful_redis.__file__), "_native.pyi"),
              encoding="utf-8") as f:
        stubs = f.read()
    # Executor and AsyncExecutor (whose monitor methods are synchronous).
    for method in ("metrics", "reset_metrics"):
        assert stubs.count(f"def {method}(self) -> MetricsSnapshot:") == 2, method

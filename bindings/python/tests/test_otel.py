"""The OpenTelemetry mapping (stateful_redis.otel): two executors (sync and
asyncio) told apart by their metrics_labels, read by the SDK's InMemoryMetricReader
after real calls (successes, a validation error, a wrong-typed stored value), and
checked against the executors' own snapshot."""

import asyncio
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import stateful_redis
from stateful_redis.otel import METER_NAME, instrument

from conftest import RedisServer

NS = "t"


def collect(reader: InMemoryMetricReader) -> Dict[str, Any]:
    """Metric name → the SDK's metric, for our scope."""
    data = reader.get_metrics_data()
    found: Dict[str, Any] = {}
    if data is None:  # nothing reported at all
        return found
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            if sm.scope.name == METER_NAME:
                for m in sm.metrics:
                    found[m.name] = m
    return found


def points(metric: Any, **attrs: Any) -> List[Any]:
    return [p for p in metric.data.data_points
            if all(p.attributes.get(k) == v for k, v in attrs.items())]


def one(metric: Any, **attrs: Any) -> Any:
    found = points(metric, **attrs)
    assert len(found) == 1, (metric.name, attrs, [dict(p.attributes) for p in found])
    return found[0]


def histogram(executor: Any, op: str, error_type: Optional[str] = None) -> Dict[str, Any]:
    """The core's histogram point (otel_metrics()) of op, without or with error.type."""
    metric = next(m for m in executor.otel_metrics()["metrics"]
                  if m["name"] == "db.client.operation.duration")
    found = [p for p in metric["points"] if p["attributes"]["db.operation.name"] == op
             and p["attributes"].get("error.type") == error_type]
    assert len(found) == 1, found
    return {"boundaries": metric["boundaries"], **found[0]}


def test_two_executors_through_the_sdk(server: RedisServer, url: str, raw: Any) -> None:
    orders = stateful_redis.Executor(url=url, metrics_labels={"executor": "orders"})
    billing = stateful_redis.AsyncExecutor(url=url, metrics_labels={"executor": "billing"})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        for i in range(3):
            orders.set_linked_pod(NS, f"u{i}", "chat", i, -1)
        with pytest.raises(stateful_redis.InvalidArgumentError):
            orders.get_linked_pod("", "u1", "chat")
        # A stored value of the wrong type: the core reports DATA.
        raw.execute_command("SET", "sf:{t:lk:u9}chat", "garbage")
        with pytest.raises(stateful_redis.DataError):
            orders.get_linked_pod(NS, "u9", "chat")

        async def calls() -> None:
            await billing.get_linked_pod(NS, "u1", "chat")
            await billing.get_linked_pod(NS, "u2", "chat")

        asyncio.run(calls())
        instrument(orders, billing, meter_provider=provider)
        metrics = collect(reader)

        count = metrics["stateful_redis.client.operation.count"]
        assert count.unit == "{operation}" and count.data.is_monotonic
        base = {"db.system.name": "redis", "server.address": "127.0.0.1",
                "server.port": server.port, "db.namespace": "0"}
        ok = one(count, **base, executor="orders", **{"db.operation.name": "set_linked_pod"})
        assert ok.value == 3 and "error.type" not in ok.attributes
        assert set(ok.attributes) == set(base) | {"executor", "db.operation.name"}
        # get_linked_pod of orders: one INVALID_ARGUMENT, one DATA, no success.
        failed = points(count, executor="orders", **{"db.operation.name": "get_linked_pod"})
        assert sorted((p.attributes["error.type"], p.value) for p in failed) == [
            ("DATA", 1), ("INVALID_ARGUMENT", 1)]
        # The two executors do not collide.
        assert one(count, executor="billing", **{"db.operation.name": "get_linked_pod"}).value == 2

        # Against each executor's own snapshot: counts and errors by code.
        for executor, name in ((orders, "orders"), (billing, "billing")):
            snapshot = executor.metrics()
            for op in snapshot["operations"]:
                mine = points(count, executor=name, **{"db.operation.name": op["name"]})
                assert sum(p.value for p in mine) == op["count"], op["name"]
                by_code = {p.attributes["error.type"]: p.value for p in mine
                           if "error.type" in p.attributes}
                assert by_code == op["errors_by_code"], op["name"]

        # Duration: sum in seconds, the cumulative buckets end at the count.
        total = metrics["stateful_redis.client.operation.duration.sum"]
        assert total.unit == "s"
        core = histogram(orders, "set_linked_pod")
        op = {"db.operation.name": "set_linked_pod"}
        assert one(total, executor="orders", **op).value == pytest.approx(core["sum"], rel=1e-12)
        snapshot_op = next(o for o in orders.metrics()["operations"] if o["name"] == "set_linked_pod")
        assert core["sum"] == pytest.approx(snapshot_op["latency_ms"]["mean"] * 3 / 1e3, rel=1e-9)
        buckets = metrics["stateful_redis.client.operation.duration.bucket"]
        series = sorted(
            ((float(p.attributes["le"]), p.value) for p in points(buckets, executor="orders", **op)),
            key=lambda x: x[0])
        bounds = core["boundaries"]
        assert [le for le, _ in series] == bounds + [float("inf")]
        cumulative = [sum(core["bucket_counts"][: i + 1]) for i in range(len(bounds) + 1)]
        assert [v for _, v in series] == cumulative
        assert cumulative[-1] == 3
        # The buckets are exact: the fastest and slowest calls (exact in the
        # snapshot) are in the buckets that first and last grow.
        first = next(i for i, n in enumerate(core["bucket_counts"]) if n)
        last = max(i for i, n in enumerate(core["bucket_counts"]) if n)
        for i, seconds in ((first, snapshot_op["latency_ms"]["min"] / 1e3),
                           (last, snapshot_op["latency_ms"]["max"] / 1e3)):
            lower = bounds[i - 1] if i > 0 else 0.0
            upper = bounds[i] if i < len(bounds) else float("inf")
            assert lower < seconds <= upper, (i, seconds)

        # The pool, as the snapshot has it.
        connections = metrics["db.client.connection.count"]
        assert connections.unit == "{connection}" and not connections.data.is_monotonic
        pool = orders.metrics()["pool"]
        states = {p.attributes["db.client.connection.state"]: p.value
                  for p in points(connections, executor="orders")}
        assert states["idle"] + states["used"] == pool["connections"] >= 1
        name = one(connections, executor="orders", **{"db.client.connection.state": "idle"})
        assert name.attributes["db.client.connection.pool.name"] == f"127.0.0.1:{server.port}/0"
        assert one(metrics["db.client.connection.max"], executor="orders").value >= pool["connections"]
        assert one(metrics["stateful_redis.client.reconnects"], executor="orders").value == 0
    finally:
        orders.close()
        billing.close()
        provider.shutdown()


def test_reset_closed_executors_and_close(url: str) -> None:
    a = stateful_redis.Executor(url=url, metrics_labels={"executor": "a"})
    b = stateful_redis.Executor(url=url, metrics_labels={"executor": "b"})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        a.set_linked_pod(NS, "u1", "chat", 1, -1)
        b.set_linked_pod(NS, "u1", "chat", 1, -1)
        before = a.otel_metrics()
        instruments = instrument(a, b, meter_provider=provider)
        count = collect(reader)["stateful_redis.client.operation.count"]
        assert {p.attributes["executor"] for p in count.data.data_points} == {"a", "b"}
        # A reset starts a new period: a later start time, no calls.
        a.reset_metrics()
        after = a.otel_metrics()
        start = lambda m: (m["start_time"]["seconds"], m["start_time"]["nanos"])  # noqa: E731
        assert start(after) > start(before)
        assert all(not m["points"] for m in after["metrics"]
                   if m["name"] == "db.client.operation.duration")
        count = collect(reader)["stateful_redis.client.operation.count"]
        assert {p.attributes["executor"] for p in count.data.data_points} == {"b"}
        # A closed executor is left out; after close() nothing is reported.
        b.close()
        metrics = collect(reader)
        assert points(metrics["db.client.connection.count"], executor="a")
        assert all(p.attributes["executor"] == "a" for m in metrics.values()
                   for p in m.data.data_points)
        instruments.close()
        a.set_linked_pod(NS, "u2", "chat", 1, -1)
        assert not collect(reader)
    finally:
        a.close()
        b.close()
        provider.shutdown()


def test_same_labels_and_no_executor_refused(url: str) -> None:
    a = stateful_redis.Executor(url=url)
    b = stateful_redis.Executor(url=url)
    try:
        with pytest.raises(ValueError, match="same metrics_labels"):
            instrument(a, b, meter_provider=MeterProvider())
        with pytest.raises(TypeError):
            instrument(meter_provider=MeterProvider())
    finally:
        a.close()
        b.close()


def test_the_core_points(url: str) -> None:
    """otel_metrics() itself: the histogram's shape and an application failure."""
    ex = stateful_redis.Executor(url=url)
    try:
        ex.record_operation("checkout", 0.003, False)
        ex.record_operation("checkout", 0.004, True)
        m = ex.otel_metrics()
        names: List[Tuple[str, str, str]] = [(x["name"], x["type"], x["unit"]) for x in m["metrics"]]
        assert names[0] == ("db.client.operation.duration", "histogram", "s")
        failed = histogram(ex, "checkout", "_OTHER")
        assert failed["count"] == 1 and failed["sum"] == pytest.approx(0.003)
        assert len(failed["bucket_counts"]) == len(failed["boundaries"]) + 1
        assert histogram(ex, "checkout")["count"] == 1
        assert (m["time"]["seconds"], m["time"]["nanos"]) >= (m["start_time"]["seconds"],
                                                             m["start_time"]["nanos"])
    finally:
        ex.close()


def test_without_the_opentelemetry_api() -> None:
    """Without opentelemetry-api, importing the module says what to install, and
    the package itself still imports."""
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "sys.modules['opentelemetry.metrics'] = None\n"
        "import stateful_redis\n"
        "try:\n"
        "    import stateful_redis.otel\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'stateful-redis[opentelemetry]'" in out.stdout, out

"""The prometheus_client collector: two executors (sync and asyncio) told apart by
their metrics_labels, scraped from one registry and parsed back."""

import asyncio
from typing import Dict, List, Tuple

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import stateful_redis
from stateful_redis.prometheus import StatefulRedisCollector

NS = "app:eu:logic"
# A label value that needs escaping in the text format.
BILLING = 'billing "eu"\\1'


def scrape(registry: CollectorRegistry) -> Dict[str, List[Tuple[str, Dict[str, str], float]]]:
    text = generate_latest(registry).decode()
    return {
        f.name: [(s.name, s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(text)
    }


def test_two_executors_in_one_registry(url: str) -> None:
    orders = stateful_redis.Executor(url=url, metrics_labels={"executor": "orders"})
    billing = stateful_redis.AsyncExecutor(
        url=url, metrics_labels={"executor": BILLING, "region": "eu"})
    try:
        for i in range(3):
            orders.set_linked_pod(NS, f"u{i}", "chat", i, -1)

        async def calls() -> None:
            await billing.get_linked_pod(NS, "u1", "chat")
            with pytest.raises(stateful_redis.InvalidArgumentError):
                await billing.get_linked_pod("", "u1", "chat")

        asyncio.run(calls())
        registry = CollectorRegistry()
        registry.register(StatefulRedisCollector(orders, billing))
        families = scrape(registry)

        def value(family: str, sample: str, **labels: str) -> float:
            found = [v for n, l, v in families[family]
                     if n == sample and all(l.get(k) == want for k, want in labels.items())]
            assert len(found) == 1, (family, labels, found)
            return found[0]

        ops = "stateful_redis_operations"  # the parser's name of a counter family
        assert value(ops, ops + "_total", operation="set_linked_pod", executor="orders") == 3
        assert value(ops, ops + "_total", operation="get_linked_pod", executor="orders") == 0
        assert value(ops, ops + "_total", operation="get_linked_pod", executor=BILLING) == 2
        assert value("stateful_redis_operation_errors", "stateful_redis_operation_errors_total",
                     operation="get_linked_pod", code="INVALID_ARGUMENT", executor=BILLING) == 1
        hist = "stateful_redis_operation_duration_seconds"
        assert value(hist, hist + "_count", operation="set_linked_pod", executor="orders") == 3
        assert value(hist, hist + "_bucket", operation="set_linked_pod", executor="orders",
                     le="+Inf") == 3
        build = [l for _, l, _ in families["stateful_redis_build_info"]]
        assert {"version": stateful_redis.__version__, "executor": "orders"} in build
        assert {"version": stateful_redis.__version__, "executor": BILLING, "region": "eu"} in build
        # Every series carries its executor's labels; the families are the core's.
        for samples in families.values():
            assert all(l["executor"] in ("orders", BILLING) for _, l, _ in samples)
        core = {f.name for f in text_string_to_metric_families(orders.metrics_prometheus())}
        assert set(families) == core
        # One collector per registry: a second one of the same families is refused.
        with pytest.raises(ValueError, match="Duplicated"):
            registry.register(StatefulRedisCollector(orders))
        # A closed executor leaves the scrape; the other stays.
        billing.close()
        labels = {l["executor"] for samples in scrape(registry).values() for _, l, _ in samples}
        assert labels == {"orders"}
    finally:
        orders.close()
        billing.close()


def test_executors_with_the_same_labels_are_refused(url: str) -> None:
    with stateful_redis.Executor(url=url) as a, stateful_redis.Executor(url=url) as b:
        with pytest.raises(ValueError, match="same metrics_labels"):
            StatefulRedisCollector(a, b)
    with pytest.raises(TypeError):
        StatefulRedisCollector()


def test_bad_label_names_are_refused_before_connecting(
        url: str, raw: "redis.Redis[str]") -> None:
    before = len(raw.execute_command("CLIENT LIST").splitlines())
    for labels in ({"le": "x"}, {"__name__": "x"}, {"a-b": "x"}, {"operation": "x"},
                   {"executor": ""}, {"executor": 3}):
        with pytest.raises(stateful_redis.ConfigError, match="metrics_labels"):
            stateful_redis.Executor(url=url, metrics_labels=labels)  # type: ignore[arg-type]
        with pytest.raises(stateful_redis.ConfigError, match="metrics_labels"):
            stateful_redis.AsyncExecutor(url=url, metrics_labels=labels)  # type: ignore[arg-type]
    assert len(raw.execute_command("CLIENT LIST").splitlines()) == before

"""A typed consumer of stateful_redis: `mypy --strict` must pass on it (the test
suite checks), so the stubs stay usable. Runs against STATEFUL_REDIS_URL."""

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import stateful_redis
from stateful_redis import AlertEvent, MetricsSnapshot, PodLoad, RoutingPolicy, Suggestion

NS = "app:eu:logic"


def route(ex: stateful_redis.Executor, uid: str) -> Optional[int]:
    ex.set_pod_load(NS, "chat", 1, load=10, state=0)
    loads: Dict[int, PodLoad] = ex.get_pod_loads(NS, "chat")
    assert all(record["load"] >= 0 for record in loads.values())
    policy: RoutingPolicy = {"max_age_ms": 30_000}
    return ex.compute_linked_pod(NS, uid, "chat", persist=-1, policy=policy)


def monitor_demo(ex: stateful_redis.Executor) -> None:
    snapshot: MetricsSnapshot = ex.metrics()
    p99: float = snapshot["operations"][0]["latency_ms"]["p99"]
    reconnects: int = snapshot["pool"]["reconnects"]
    text: str = ex.metrics_prometheus()
    ex.record_operation("checkout", 0.004, True)

    def on_alert(event: AlertEvent) -> None:
        print(event["metric"], event["state"], event["value"])

    subscription: int = ex.subscribe_alerts(on_alert)
    ex.set_alert_threshold("set_linked_pod.p99_ms", 50.0)
    ex.set_alert("*.error_rate", 0.05, sustain_ms=10_000, direction="above")
    suggestions: List[Suggestion] = ex.optimization_suggestions()
    pool: Dict[str, Any] = ex.optimize_connection_pool()
    print(len(snapshot["operations"]), p99, reconnects, len(text), [s["id"] for s in suggestions],
          pool["changed"])
    ex.unsubscribe_alerts(subscription)


def sync_demo() -> None:
    with stateful_redis.Executor(command_timeout_ms=500, retry={"max_attempts": 2}) as ex:
        previous: Optional[int] = ex.set_linked_pod(NS, "u42", "chat", 3, -1)
        ok, pod = ex.try_set_linked_pod(NS, "u42", "chat", 4, 300)
        by_pod: Dict[int, List[str]] = ex.batch_get_linked_pod(NS, ["u42", "u43"], "chat")
        links: Dict[str, int] = ex.get_link_service(NS, "u42")
        print(previous, ok, pod, by_pod, links, route(ex, "u44"))
        monitor_demo(ex)
        try:
            ex.set_linked_pod(NS, "", "chat", 1, -1)
        except stateful_redis.InvalidArgumentError as e:
            code: str = e.code
            retryable: bool = e.retryable
            print(code, retryable, e.operation)


async def async_demo() -> None:
    async with stateful_redis.AsyncExecutor.connect() as ex:
        results: Tuple[Optional[int], ...] = tuple(
            await asyncio.gather(*(ex.get_linked_pod(NS, f"u{i}", "chat") for i in range(10)))
        )
        kept: bool = await ex.remove_linked_pod(NS, "u42", "chat", keep=60)
        scripts: Dict[str, Any] = await ex.optimize_lua_scripts()
        print(ex.metrics()["pool"], scripts["loaded"])
        print(results, kept)


if __name__ == "__main__":
    sync_demo()
    asyncio.run(async_demo())

"""Type stubs of the native module (the Rust binding). Import ``stateful_redis``."""

from types import TracebackType
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, Generator, List, Literal, Mapping, Optional, Sequence, Tuple, Type, Union, final

from .types import AlertEvent, LinksByPod, MetricFamily, MetricsSnapshot, OtelMetrics, PodLoad, RetryPolicy, RoutingPolicy, Suggestion

__version__: str
__all__ = ["Executor", "AsyncExecutor", "_Connecting", "__version__"]

_Names = Union[List[str], Tuple[str, ...]]

@final
class Executor:
    """A synchronous executor of every stateful-redis operation, safe to share
    between threads (the GIL is released during every Redis round trip)."""

    def __new__(
        cls,
        *,
        url: Optional[str] = ...,
        cluster_nodes: Sequence[str] = ...,
        username: Optional[str] = ...,
        password: Optional[str] = ...,
        database: Optional[int] = ...,
        connect_timeout_ms: int = ...,
        command_timeout_ms: int = ...,
        connections: int = ...,
        thread_connections: int = ...,
        event_loop_connection: bool = ...,
        max_in_flight: int = ...,
        retry: RetryPolicy = ...,
        key_schema: Literal["default", "java"] = ...,
        monitor: bool = ...,
        tcp_nodelay: bool = ...,
        client_name: Optional[str] = ...,
        metrics_labels: Mapping[str, str] = ...,
        tls_ca_file: Optional[str] = ...,
        tls_client_cert_file: Optional[str] = ...,
        tls_client_key_file: Optional[str] = ...,
    ) -> "Executor": ...
    # --- operations: generated from core/src/operation.rs by
    # `STATEFUL_REDIS_UPDATE_STUBS=1 cargo test -p stateful-redis-python stubs`; do not edit
    def set_service_state(self, ns: str, svc: str, pod: int, state: str) -> None:
        """Sets the state of one pod of a service."""
    def get_service_state(self, ns: str, svc: str) -> Dict[int, str]:
        """The state of every pod of a service: {pod: state}."""
    def set_workload_state(self, ns: str, svc: str, state: str) -> None:
        """Sets the state of a service's workload as a whole."""
    def get_workload_state(self, ns: str, svc: str) -> Optional[str]:
        """The workload state of a service, or none."""
    def get_workload_states(self, ns: str, svcs: _Names) -> Dict[str, str]:
        """Workload states of several services: {svc: state} (absent ones omitted)."""
    def set_pod_load(self, ns: str, svc: str, pod: int, load: int, state: int) -> int:
        """Writes a pod's load record stamped with the Redis server's clock; returns the stamp (epoch ms)."""
    def get_pod_loads(self, ns: str, svc: str, fresh_since_ms: Optional[int] = None) -> Dict[int, PodLoad]:
        """Load records of a service's pods: {pod: {load, state, updated_ms}}, only those updated at or after fresh_since_ms when given."""
    def set_linked_pod(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> Optional[int]:
        """Links uid to pod of svc (persist: -1 persistent, > 0 TTL in seconds); returns the previous pod or none."""
    def try_set_linked_pod(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> Tuple[bool, int]:
        """Links uid to pod unless a persistent link points to another pod; returns (ok, current pod)."""
    def set_linked_pod_if_absent(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> int:
        """Links uid to pod only if it has no link (a temporary link gets its TTL refreshed when persist > 0); returns the pod actually linked."""
    def get_linked_pod(self, ns: str, uid: str, svc: str) -> Optional[int]:
        """The pod uid is linked to for svc (persistent or temporary), or none."""
    def get_linked_pod_if_persist(self, ns: str, uid: str, svc: str) -> Optional[int]:
        """The pod uid is linked to for svc only if the link is persistent, or none."""
    def batch_get_linked_pod(self, ns: str, uids: _Names, svc: str) -> LinksByPod:
        """Links of many uids for one service: {pod: [uid, ...]} (input order kept, uids without a link left out)."""
    def remove_linked_pod(self, ns: str, uid: str, svc: str, keep: int) -> bool:
        """Removes the link (keep: -1 now, > 0 readable as a temporary link for that many seconds); returns whether a link existed."""
    def remove_linked_pod_with_id(self, ns: str, uid: str, svc: str, keep: int, pod: int) -> bool:
        """As remove_linked_pod, only when the link points to pod; returns whether it was removed."""
    def get_link_service(self, ns: str, uid: str) -> Dict[str, int]:
        """The persistent links of uid: {svc: pod}."""
    def compute_linked_pod(self, ns: str, uid: str, svc: str, persist: int, policy: Optional[RoutingPolicy] = None) -> Optional[int]:
        """Returns uid's link for svc, or links it to the least-loaded eligible pod (fresh within max_age_ms, state <= max_state) and returns that pod; none when no pod is eligible."""
    # --- end of operations
    def metrics(self) -> MetricsSnapshot:
        """The monitor's snapshot (validates against schemas/metrics_snapshot.schema.json)."""
    def metrics_prometheus(self) -> str:
        """The metrics as Prometheus text exposition."""
    def metrics_families(self) -> List[MetricFamily]:
        """The metric families of the Prometheus exposition (const labels included)."""
    def otel_metrics(self, histograms_as_counters: bool = False) -> OtelMetrics:
        """The metrics as OpenTelemetry metrics (database client semantic conventions)."""
    def reset_metrics(self) -> MetricsSnapshot:
        """Starts a new measurement period; returns the final snapshot of the last one."""
    def record_operation(self, name: str, duration: Union[float, timedelta], success: bool) -> None:
        """Records an application operation (``duration`` in seconds or a timedelta)."""
    def set_alert_threshold(self, metric: str, threshold: float) -> None:
        """Alerts when ``metric`` goes above ``threshold``."""
    def set_alert(
        self,
        metric: str,
        threshold: float,
        *,
        sustain_ms: Optional[int] = None,
        hysteresis: Optional[float] = None,
        direction: Optional[Literal["above", "below"]] = None,
    ) -> None:
        """Sets the alert rule for ``metric`` with all its options."""
    def remove_alert(self, metric: str) -> bool:
        """Removes the alert rule for ``metric``."""
    def subscribe_alerts(self, callback: Callable[[AlertEvent], object]) -> int:
        """Calls ``callback(event)`` for every alert event, on a thread of its own."""
    def unsubscribe_alerts(self, subscription: int) -> bool:
        """Ends a subscription."""
    def evaluate_alerts(self) -> List[AlertEvent]:
        """Evaluates the alert rules now; returns the events."""
    def optimization_suggestions(self) -> List[Suggestion]:
        """Suggestions from the metrics and the settings."""
    def optimize_connection_pool(self) -> Dict[str, Any]:
        """Resizes the connection pool to the measured concurrency."""
    def optimize_lua_scripts(self) -> Dict[str, Any]:
        """Loads every Lua script the server lacks."""
    def close(self) -> None:
        """Refuses every later call with ``ClosedError``."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
    def __enter__(self) -> "Executor": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

@final
class _Connecting:
    """What ``AsyncExecutor.connect(**options)`` returns: ``await`` it for the
    connected executor, or use it in ``async with`` (connects, then closes)."""

    def __await__(self) -> Generator[Any, None, "AsyncExecutor"]: ...
    def __aenter__(self) -> Awaitable["AsyncExecutor"]: ...
    def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Awaitable[bool]: ...

@final
class AsyncExecutor:
    """An asyncio executor of every operation. ``AsyncExecutor(**options)``
    connects on first use or in ``async with``; ``await AsyncExecutor.connect(**options)``
    connects at once. Methods must be called from a coroutine running on an event
    loop."""

    def __new__(
        cls,
        *,
        url: Optional[str] = ...,
        cluster_nodes: Sequence[str] = ...,
        username: Optional[str] = ...,
        password: Optional[str] = ...,
        database: Optional[int] = ...,
        connect_timeout_ms: int = ...,
        command_timeout_ms: int = ...,
        connections: int = ...,
        thread_connections: int = ...,
        event_loop_connection: bool = ...,
        max_in_flight: int = ...,
        retry: RetryPolicy = ...,
        key_schema: Literal["default", "java"] = ...,
        monitor: bool = ...,
        tcp_nodelay: bool = ...,
        client_name: Optional[str] = ...,
        metrics_labels: Mapping[str, str] = ...,
        tls_ca_file: Optional[str] = ...,
        tls_client_cert_file: Optional[str] = ...,
        tls_client_key_file: Optional[str] = ...,
    ) -> "AsyncExecutor": ...
    @staticmethod
    def connect(
        *,
        url: Optional[str] = ...,
        cluster_nodes: Sequence[str] = ...,
        username: Optional[str] = ...,
        password: Optional[str] = ...,
        database: Optional[int] = ...,
        connect_timeout_ms: int = ...,
        command_timeout_ms: int = ...,
        connections: int = ...,
        thread_connections: int = ...,
        event_loop_connection: bool = ...,
        max_in_flight: int = ...,
        retry: RetryPolicy = ...,
        key_schema: Literal["default", "java"] = ...,
        monitor: bool = ...,
        tcp_nodelay: bool = ...,
        client_name: Optional[str] = ...,
        metrics_labels: Mapping[str, str] = ...,
        tls_ca_file: Optional[str] = ...,
        tls_client_cert_file: Optional[str] = ...,
        tls_client_key_file: Optional[str] = ...,
    ) -> _Connecting: ...
    # --- operations: generated from core/src/operation.rs by
    # `STATEFUL_REDIS_UPDATE_STUBS=1 cargo test -p stateful-redis-python stubs`; do not edit
    def set_service_state(self, ns: str, svc: str, pod: int, state: str) -> Awaitable[None]:
        """Sets the state of one pod of a service."""
    def get_service_state(self, ns: str, svc: str) -> Awaitable[Dict[int, str]]:
        """The state of every pod of a service: {pod: state}."""
    def set_workload_state(self, ns: str, svc: str, state: str) -> Awaitable[None]:
        """Sets the state of a service's workload as a whole."""
    def get_workload_state(self, ns: str, svc: str) -> Awaitable[Optional[str]]:
        """The workload state of a service, or none."""
    def get_workload_states(self, ns: str, svcs: _Names) -> Awaitable[Dict[str, str]]:
        """Workload states of several services: {svc: state} (absent ones omitted)."""
    def set_pod_load(self, ns: str, svc: str, pod: int, load: int, state: int) -> Awaitable[int]:
        """Writes a pod's load record stamped with the Redis server's clock; returns the stamp (epoch ms)."""
    def get_pod_loads(self, ns: str, svc: str, fresh_since_ms: Optional[int] = None) -> Awaitable[Dict[int, PodLoad]]:
        """Load records of a service's pods: {pod: {load, state, updated_ms}}, only those updated at or after fresh_since_ms when given."""
    def set_linked_pod(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> Awaitable[Optional[int]]:
        """Links uid to pod of svc (persist: -1 persistent, > 0 TTL in seconds); returns the previous pod or none."""
    def try_set_linked_pod(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> Awaitable[Tuple[bool, int]]:
        """Links uid to pod unless a persistent link points to another pod; returns (ok, current pod)."""
    def set_linked_pod_if_absent(self, ns: str, uid: str, svc: str, pod: int, persist: int) -> Awaitable[int]:
        """Links uid to pod only if it has no link (a temporary link gets its TTL refreshed when persist > 0); returns the pod actually linked."""
    def get_linked_pod(self, ns: str, uid: str, svc: str) -> Awaitable[Optional[int]]:
        """The pod uid is linked to for svc (persistent or temporary), or none."""
    def get_linked_pod_if_persist(self, ns: str, uid: str, svc: str) -> Awaitable[Optional[int]]:
        """The pod uid is linked to for svc only if the link is persistent, or none."""
    def batch_get_linked_pod(self, ns: str, uids: _Names, svc: str) -> Awaitable[LinksByPod]:
        """Links of many uids for one service: {pod: [uid, ...]} (input order kept, uids without a link left out)."""
    def remove_linked_pod(self, ns: str, uid: str, svc: str, keep: int) -> Awaitable[bool]:
        """Removes the link (keep: -1 now, > 0 readable as a temporary link for that many seconds); returns whether a link existed."""
    def remove_linked_pod_with_id(self, ns: str, uid: str, svc: str, keep: int, pod: int) -> Awaitable[bool]:
        """As remove_linked_pod, only when the link points to pod; returns whether it was removed."""
    def get_link_service(self, ns: str, uid: str) -> Awaitable[Dict[str, int]]:
        """The persistent links of uid: {svc: pod}."""
    def compute_linked_pod(self, ns: str, uid: str, svc: str, persist: int, policy: Optional[RoutingPolicy] = None) -> Awaitable[Optional[int]]:
        """Returns uid's link for svc, or links it to the least-loaded eligible pod (fresh within max_age_ms, state <= max_state) and returns that pod; none when no pod is eligible."""
    # --- end of operations
    def metrics(self) -> MetricsSnapshot:
        """The monitor's snapshot (validates against schemas/metrics_snapshot.schema.json)."""
    def metrics_prometheus(self) -> str:
        """The metrics as Prometheus text exposition."""
    def metrics_families(self) -> List[MetricFamily]:
        """The metric families of the Prometheus exposition (const labels included)."""
    def otel_metrics(self, histograms_as_counters: bool = False) -> OtelMetrics:
        """The metrics as OpenTelemetry metrics (database client semantic conventions)."""
    def reset_metrics(self) -> MetricsSnapshot:
        """Starts a new measurement period; returns the final snapshot of the last one."""
    def record_operation(self, name: str, duration: Union[float, timedelta], success: bool) -> None:
        """Records an application operation (``duration`` in seconds or a timedelta)."""
    def set_alert_threshold(self, metric: str, threshold: float) -> None:
        """Alerts when ``metric`` goes above ``threshold``."""
    def set_alert(
        self,
        metric: str,
        threshold: float,
        *,
        sustain_ms: Optional[int] = None,
        hysteresis: Optional[float] = None,
        direction: Optional[Literal["above", "below"]] = None,
    ) -> None:
        """Sets the alert rule for ``metric`` with all its options."""
    def remove_alert(self, metric: str) -> bool:
        """Removes the alert rule for ``metric``."""
    def subscribe_alerts(self, callback: Callable[[AlertEvent], object]) -> int:
        """Calls ``callback(event)`` for every alert event, on a thread of its own."""
    def unsubscribe_alerts(self, subscription: int) -> bool:
        """Ends a subscription."""
    def evaluate_alerts(self) -> List[AlertEvent]:
        """Evaluates the alert rules now; returns the events."""
    def optimization_suggestions(self) -> List[Suggestion]:
        """Suggestions from the metrics and the settings."""
    def optimize_connection_pool(self) -> Awaitable[Dict[str, Any]]:
        """Resizes the connection pool to the measured concurrency."""
    def optimize_lua_scripts(self) -> Awaitable[Dict[str, Any]]:
        """Loads every Lua script the server lacks."""
    def close(self) -> None:
        """Refuses every later call with ``ClosedError``."""
    def aclose(self) -> Awaitable[None]:
        """``close()`` as a coroutine."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
    def __aenter__(self) -> Awaitable["AsyncExecutor"]: ...
    def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Awaitable[bool]: ...

# The log forwarding, driven by `stateful_redis._logging`.
def _log_open(level: int) -> bool: ...
def _log_level(level: int) -> None: ...
def _log_records(timeout_s: float) -> Optional[Tuple[List[Tuple[int, str, str, Dict[str, Any]]], int]]: ...

"""Typed shapes of the values that stateful_redis takes and returns."""

from typing import Dict, List, Literal, TypedDict, Union

__all__ = [
    "PodLoad", "RoutingPolicy", "RetryPolicy", "LinksByPod", "AlertEvent", "Suggestion",
    "MetricsSnapshot", "OperationMetrics", "Throughput", "Latency", "PoolMetrics",
    "ScriptMetrics", "ActiveAlert", "MetricSample", "MetricFamily", "OtelTimestamp",
    "OtelPoint", "OtelMetric", "OtelMetrics",
]


class PodLoad(TypedDict):
    """A pod's load record, as returned by ``get_pod_loads``."""

    load: int
    state: int
    updated_ms: int
    """Server time of the update, epoch milliseconds."""


class RoutingPolicy(TypedDict, total=False):
    """How ``compute_linked_pod`` chooses a pod (both keys optional)."""

    max_age_ms: int
    """A load record older than this (server clock) is ignored; default 60000."""
    max_state: int
    """Pods whose state is above this are not chosen; default: no limit."""


class RetryPolicy(TypedDict, total=False):
    """The ``retry`` option: bounded retries with exponential backoff and jitter."""

    max_attempts: int
    base_backoff_ms: int
    max_backoff_ms: int


#: ``batch_get_linked_pod`` result: ``{pod: [uid, ...]}``.
LinksByPod = Dict[int, List[str]]


class AlertEvent(TypedDict):
    """A change of an alert's state, as passed to ``subscribe_alerts`` callbacks."""

    metric: str
    """The concrete metric (``get_linked_pod.p99_ms``)."""
    rule: str
    """The rule's metric as set (``*.error_rate``)."""
    state: str
    """``"pending"``, ``"firing"`` or ``"resolved"``."""
    value: float
    threshold: float
    at_ms: int
    """Wall-clock time, Unix epoch milliseconds."""
    message: str


class Suggestion(TypedDict):
    """One optimisation suggestion."""

    id: str
    """The rule's stable id (``error_rate_high``, ...)."""
    severity: str
    message: str
    evidence: Dict[str, float]
    """The metric values behind it."""


# --- the metrics snapshot: schemas/metrics_snapshot.schema.json, one TypedDict per
# object of the schema (tests/test_monitor.py fails when they differ).


class Throughput(TypedDict):
    """Completed calls per second over the last whole 1, 10 and 60 seconds."""

    last_1s: float
    last_10s: float
    last_60s: float


class Latency(TypedDict):
    """Latency in milliseconds; all 0 when count is 0."""

    min: float
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float


class OperationMetrics(TypedDict):
    """One operation of ``MetricsSnapshot.operations``."""

    name: str
    kind: Literal["builtin", "application"]
    count: int
    """Completed calls, failed ones included."""
    errors: int
    error_rate: float
    errors_by_code: Dict[str, int]
    """Codes with at least one failure (application failures have no code)."""
    throughput: Throughput
    latency_ms: Latency
    batch_items: int
    """Items (uids, services) passed to batch calls."""
    batch_max: int
    """Largest batch seen."""


class PoolMetrics(TypedDict):
    """The connection pool part of the snapshot."""

    connections: int
    in_use: int
    in_flight: int
    in_flight_peak: int
    max_in_flight: int
    contended_calls: int
    waits: int
    wait_ms_total: float
    wait_ms_p99: float
    reconnects: int


class ScriptMetrics(TypedDict):
    """The Lua script part of the snapshot."""

    evalsha_calls: int
    noscript_reloads: int


class ActiveAlert(TypedDict):
    """An alert pending or firing when the snapshot was taken."""

    metric: str
    rule: str
    state: Literal["pending", "firing"]
    value: float
    threshold: float
    since_ms: int


class MetricsSnapshot(TypedDict):
    """What ``metrics()`` and ``reset_metrics()`` return (the same snapshot in every
    binding; ``schemas/metrics_snapshot.schema.json``)."""

    schema_version: int
    taken_at_ms: int
    """Wall-clock time of the snapshot, Unix epoch milliseconds."""
    uptime_seconds: float
    period_seconds: float
    operations: List[OperationMetrics]
    errors_by_code: Dict[str, int]
    """Failed calls by error code over every operation; every code is listed."""
    pool: PoolMetrics
    scripts: ScriptMetrics
    alerts: List[ActiveAlert]


# --- the Prometheus exposition as families (``metrics_families()``): the core's
# ``monitor::prometheus::MetricFamily``, what ``metrics_prometheus()`` renders.


class MetricSample(TypedDict):
    """One series of a family and its value."""

    name: str
    """The family's name; for a histogram, it with ``_bucket``, ``_sum`` or ``_count``."""
    labels: Dict[str, str]
    """The series' own labels (``operation``, ``code``, ``le``, ``version``) and the const labels."""
    value: float


MetricFamily = TypedDict(
    "MetricFamily",
    {"name": str, "type": Literal["counter", "gauge", "histogram"], "help": str,
     "samples": List[MetricSample]},
)
MetricFamily.__doc__ = """One metric family of the Prometheus exposition."""


# --- the OpenTelemetry mapping (``otel_metrics()``): the core's
# ``monitor::otel::OtelMetrics`` (docs/opentelemetry.md).


class OtelTimestamp(TypedDict):
    """A Unix time: whole seconds and nanoseconds."""

    seconds: int
    nanos: int


class OtelPoint(TypedDict, total=False):
    """One point: ``value`` (sums, gauges) or ``count``, ``sum`` (seconds) and
    ``bucket_counts`` (per bucket, not cumulative; one more than the bounds)."""

    attributes: Dict[str, Union[str, int]]
    value: Union[int, float]
    count: int
    sum: float
    bucket_counts: List[int]


class OtelMetric(TypedDict, total=False):
    """One metric: ``type`` is the instrument (``counter``: monotonic sum,
    ``updowncounter``, ``gauge``, ``histogram``); ``boundaries`` (seconds) for a
    histogram."""

    name: str
    description: str
    unit: str
    type: Literal["counter", "updowncounter", "gauge", "histogram"]
    boundaries: List[float]
    points: List[OtelPoint]


class OtelMetrics(TypedDict):
    """Every metric of one read; cumulative from ``start_time`` (the executor's
    creation or its last ``reset_metrics()``) to ``time``."""

    start_time: OtelTimestamp
    time: OtelTimestamp
    metrics: List[OtelMetric]

"""Typed shapes of the values that stateful_redis takes and returns."""

from typing import Dict, List, TypedDict

__all__ = ["PodLoad", "RoutingPolicy", "RetryPolicy", "LinksByPod", "AlertEvent", "Suggestion"]


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

"""Typed shapes of the values that stateful_redis takes and returns."""

from typing import Dict, List, TypedDict

__all__ = ["PodLoad", "RoutingPolicy", "RetryPolicy", "LinksByPod"]


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

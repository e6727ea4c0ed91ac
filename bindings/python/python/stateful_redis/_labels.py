"""The const labels (``metrics_labels``) of executors, for the registry adapters
(``prometheus``, ``otel``): two executors with the same labels would make the same
series, so an adapter refuses them."""

from typing import Dict, List, Protocol, Sequence, Tuple

from .types import MetricFamily


class HasFamilies(Protocol):
    def metrics_families(self) -> List[MetricFamily]: ...


Labels = Tuple[Tuple[str, str], ...]


def const_labels(executor: HasFamilies) -> Labels:
    """The executor's const labels: those of its build-info series but `version`."""
    for family in executor.metrics_families():
        if family["name"] == "stateful_redis_build_info":
            labels = family["samples"][0]["labels"]
            return tuple(sorted((k, v) for k, v in labels.items() if k != "version"))
    raise ValueError("not an executor of stateful_redis: no stateful_redis_build_info")


def refuse_same_labels(executors: Sequence[HasFamilies], what: str) -> None:
    """``ValueError`` when two of ``executors`` have the same ``metrics_labels``
    (their ``what``, "series" or "points", would collide)."""
    seen: Dict[Labels, int] = {}
    for i, executor in enumerate(executors):
        labels = const_labels(executor)
        if labels in seen:
            raise ValueError(
                f"executors {seen[labels]} and {i} have the same metrics_labels: their "
                f"{what} would collide (give each one, e.g. metrics_labels={{'executor': "
                "'orders'})")
        seen[labels] = i

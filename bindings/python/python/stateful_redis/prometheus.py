"""The metrics of stateful_redis executors in a ``prometheus_client`` registry.

    from prometheus_client import CollectorRegistry, generate_latest
    from stateful_redis.prometheus import StatefulRedisCollector

    orders = stateful_redis.Executor(metrics_labels={"executor": "orders"})
    billing = stateful_redis.Executor(metrics_labels={"executor": "billing"})
    registry = CollectorRegistry()
    registry.register(StatefulRedisCollector(orders, billing))
    generate_latest(registry)

The families come ready from the core (``metrics_families()``, what
``metrics_prometheus()`` renders), so the names and labels are the same whichever
way the metrics are scraped; this module only builds ``prometheus_client``
metrics from them. Give one collector every executor of a process: the registry
refuses a second collector of the same families (a scrape may hold each family
once), and the executors must differ by their ``metrics_labels``.

Needs ``prometheus_client`` (``pip install 'stateful-redis[prometheus]'``).
"""

from typing import Dict, Iterator, List, Protocol

from prometheus_client.metrics_core import Metric

from ._labels import refuse_same_labels
from .types import MetricFamily

__all__ = ["StatefulRedisCollector"]


class _HasFamilies(Protocol):
    @property
    def closed(self) -> bool: ...

    def metrics_families(self) -> List[MetricFamily]: ...


def _metric(family: MetricFamily) -> Metric:
    # prometheus_client names a counter family without `_total` (its samples keep
    # it), as OpenMetrics does; the text it writes is the core's.
    name = family["name"]
    if family["type"] == "counter" and name.endswith("_total"):
        name = name[: -len("_total")]
    return Metric(name, family["help"], family["type"])


class StatefulRedisCollector:
    """A ``prometheus_client`` collector of the metrics of one or more executors
    (``Executor`` or ``AsyncExecutor``), each series carrying its executor's
    ``metrics_labels``."""

    def __init__(self, *executors: _HasFamilies) -> None:
        if not executors:
            raise TypeError("StatefulRedisCollector needs at least one executor")
        refuse_same_labels(executors, "series")
        self._executors = executors

    def describe(self) -> Iterator[Metric]:
        """The families (without samples): the registry checks names with them."""
        # Read even from a closed executor: the names are the same.
        return (_metric(f) for f in self._executors[0].metrics_families())

    def collect(self) -> Iterator[Metric]:
        """Every family once, with the samples of every open executor (a closed
        one is left out, as in Node's ``registerMetrics``)."""
        families: Dict[str, Metric] = {}
        for executor in self._executors:
            if executor.closed:
                continue
            for family in executor.metrics_families():
                metric = families.get(family["name"])
                if metric is None:
                    metric = families[family["name"]] = _metric(family)
                for s in family["samples"]:
                    metric.add_sample(s["name"], s["labels"], s["value"])
        return iter(families.values())



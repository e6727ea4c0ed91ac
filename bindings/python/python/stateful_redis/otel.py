"""The metrics of stateful_redis executors through the OpenTelemetry SDK, following
the database client semantic conventions (docs/opentelemetry.md).

    from opentelemetry.sdk.metrics import MeterProvider
    from stateful_redis.otel import instrument

    orders = stateful_redis.Executor(metrics_labels={"executor": "orders"})
    billing = stateful_redis.Executor(metrics_labels={"executor": "billing"})
    provider = MeterProvider(metric_readers=[reader])
    instruments = instrument(orders, billing, meter_provider=provider)
    ...
    instruments.close()   # the callbacks report nothing more

The mapping is the core's (``otel_metrics()``); this module only registers one
observable instrument per metric and turns the core's points into
``Observation``\\ s. The Python SDK (1.45) takes no ready-made histogram from
outside (no metric producer, and observable instruments are counters, up-down
counters and gauges), so ``db.client.operation.duration`` is exported as three
counters with the same attributes, named apart from the convention: its count
(``stateful_redis.client.operation.count``), its sum in seconds
(``stateful_redis.client.operation.duration.sum``) and its cumulative buckets
(``stateful_redis.client.operation.duration.bucket``, attribute ``le``). The
pool metrics are the convention's (``db.client.connection.count``,
``db.client.connection.max``).

Needs ``opentelemetry-api`` (``pip install 'stateful-redis[opentelemetry]'``);
an exporter needs ``opentelemetry-sdk``.
"""

from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Tuple

try:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter_provider
except ImportError as _missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "stateful_redis.otel needs the OpenTelemetry API: pip install "
        "'stateful-redis[opentelemetry]' (or opentelemetry-api and opentelemetry-sdk)"
    ) from _missing

from ._labels import refuse_same_labels
from .types import MetricFamily, OtelMetrics

__all__ = ["instrument", "Instruments", "METER_NAME"]

METER_NAME = "stateful-redis"
"""The instrumentation scope of the instruments."""


class _Instrumentable(Protocol):
    @property
    def closed(self) -> bool: ...

    def otel_metrics(self, histograms_as_counters: bool = False) -> OtelMetrics: ...

    def metrics_families(self) -> List[MetricFamily]: ...


class Instruments:
    """The observable instruments registered by :func:`instrument`."""

    def __init__(self, executors: Tuple[_Instrumentable, ...], instruments: List[Any]) -> None:
        self._executors = executors
        self.instruments = instruments
        """The OpenTelemetry instruments, one per metric."""
        self._closed = False

    def close(self) -> None:
        """The callbacks report nothing from now on (the OpenTelemetry API has no
        way to remove an instrument)."""
        self._closed = True

    def _observe(self, name: str) -> Iterable[Observation]:
        if self._closed:
            return []
        observations = []
        for executor in self._executors:
            # A closed executor is left out, as in the Prometheus collector.
            if executor.closed:
                continue
            for metric in executor.otel_metrics(True)["metrics"]:
                if metric["name"] == name:
                    for point in metric["points"]:
                        observations.append(Observation(point["value"], point["attributes"]))
        return observations


def instrument(*executors: _Instrumentable,
               meter_provider: Optional[MeterProvider] = None) -> Instruments:
    """Registers observable instruments that report the metrics of ``executors``
    (``Executor`` or ``AsyncExecutor``, each with its own ``metrics_labels``) to
    ``meter_provider`` (default: the global one). Every collection reads each
    open executor once per instrument."""
    if not executors:
        raise TypeError("instrument needs at least one executor")
    refuse_same_labels(executors, "points")
    provider = meter_provider if meter_provider is not None else get_meter_provider()
    meter = provider.get_meter(METER_NAME, _version())
    made = Instruments(executors, [])
    create: Dict[str, Callable[..., Any]] = {
        "counter": meter.create_observable_counter,
        "updowncounter": meter.create_observable_up_down_counter,
        "gauge": meter.create_observable_gauge,
    }
    # The names, units and kinds are the same for every executor.
    for metric in executors[0].otel_metrics(True)["metrics"]:
        name = metric["name"]

        def callback(options: CallbackOptions, name: str = name) -> Iterable[Observation]:
            return made._observe(name)

        made.instruments.append(create[metric["type"]](
            name, callbacks=[callback], unit=metric["unit"], description=metric["description"]))
    return made




def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stateful-redis")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"

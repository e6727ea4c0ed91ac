"""stateful-redis: the routing facts of stateful services, kept in Redis.

Which pod of a service each user is linked to, the state and load of every pod,
the state of each workload: every change is one atomic Lua script, every call is
measured. This package is a thin binding of the Rust core, the same operations and
errors as the C and Node bindings.

    import stateful_redis

    with stateful_redis.Executor(url="redis://127.0.0.1:6379") as ex:
        ex.set_linked_pod("app:eu:logic", "u42", "chat", 3, -1)
        assert ex.get_linked_pod("app:eu:logic", "u42", "chat") == 3

    async def main() -> None:
        async with stateful_redis.AsyncExecutor.connect() as ex:
            await ex.get_linked_pod("app:eu:logic", "u42", "chat")
"""

from .errors import (
    ERROR_CODES,
    AuthError,
    BusyError,
    ClosedError,
    ClusterError,
    ConfigError,
    ConnectionError,
    DataError,
    InternalError,
    InvalidArgumentError,
    ScriptError,
    StatefulRedisError,
    TimeoutError,
)
from ._native import AsyncExecutor, Executor, __version__
from . import _logging  # noqa: F401  (the core's log events into `logging`)
from .types import AlertEvent, LinksByPod, MetricsSnapshot, PodLoad, RetryPolicy, RoutingPolicy, Suggestion

__all__ = [
    "Executor",
    "AsyncExecutor",
    "StatefulRedisError",
    "InvalidArgumentError",
    "ConfigError",
    "ConnectionError",
    "TimeoutError",
    "AuthError",
    "ScriptError",
    "ClusterError",
    "BusyError",
    "DataError",
    "ClosedError",
    "InternalError",
    "ERROR_CODES",
    "PodLoad",
    "RoutingPolicy",
    "RetryPolicy",
    "LinksByPod",
    "AlertEvent",
    "Suggestion",
    "MetricsSnapshot",
    "__version__",
]

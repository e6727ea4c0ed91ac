"""The exception hierarchy of stateful_redis.

Every error raised by an operation is a :class:`StatefulRedisError`, more precisely
the subclass of its stable code (SPEC section 4, the same codes in every language
binding). Each carries ``.code``, ``.message``, ``.operation`` and ``.retryable``;
when the core error had an underlying cause (e.g. the Redis client's error), it is
chained as ``__cause__``.
"""

from typing import Dict, Optional, Type

__all__ = [
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
]

import builtins


class StatefulRedisError(Exception):
    """Root of every error raised by stateful_redis.

    Attributes:
        code: the stable error code (``"INVALID_ARGUMENT"``, ``"TIMEOUT"``, ...).
        message: what went wrong, without the code.
        operation: the operation that failed (``"set_linked_pod"``), or ``""``.
        retryable: whether the same call may succeed if made again later.
    """

    code: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        operation: str = "",
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.operation = operation
        self.retryable = retryable

    def __str__(self) -> str:
        where = f" in {self.operation}" if self.operation else ""
        return f"{self.code}{where}: {self.message}"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message, self.code, self.operation, self.retryable))


class InvalidArgumentError(StatefulRedisError, ValueError, TypeError):
    """Bad input refused before anything was sent: an empty, over-long or
    control-character name, a negative pod, a bad persist/keep, or a Python value
    of the wrong type. Also a ``ValueError`` and a ``TypeError``."""

    code = "INVALID_ARGUMENT"


class ConfigError(StatefulRedisError, ValueError):
    """Bad configuration: a bad URL, an unknown option, an impossible pool size."""

    code = "CONFIG"


class ConnectionError(StatefulRedisError, builtins.ConnectionError):
    """Redis could not be reached, or the connection was lost."""

    code = "CONNECTION"


class TimeoutError(StatefulRedisError, builtins.TimeoutError):
    """The command's deadline (``command_timeout_ms``) passed."""

    code = "TIMEOUT"


class AuthError(StatefulRedisError):
    """Redis refused the credentials or the permission (NOAUTH, WRONGPASS, NOPERM)."""

    code = "AUTH"


class ScriptError(StatefulRedisError):
    """A Lua script failed on the server."""

    code = "SCRIPT"


class ClusterError(StatefulRedisError):
    """CROSSSLOT, CLUSTERDOWN, or redirections exhausted."""

    code = "CLUSTER"


class BusyError(StatefulRedisError):
    """The server (BUSY, LOADING, OOM, ...) or the executor (``max_in_flight``)
    refused the call for now."""

    code = "BUSY"


class DataError(StatefulRedisError):
    """Redis holds something the operation cannot read; the message names the key."""

    code = "DATA"


class ClosedError(StatefulRedisError):
    """The executor was closed (or was created before ``os.fork()``)."""

    code = "CLOSED"


class InternalError(StatefulRedisError):
    """A bug in stateful_redis; please report it."""

    code = "INTERNAL"


_CLASSES_BY_CODE: Dict[str, Type[StatefulRedisError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        ConfigError,
        ConnectionError,
        TimeoutError,
        AuthError,
        ScriptError,
        ClusterError,
        BusyError,
        DataError,
        ClosedError,
        InternalError,
    )
}

#: Every stable error code, in the order of the C ABI's status values (1..11).
ERROR_CODES = tuple(_CLASSES_BY_CODE)

"""The core's log events in the ``logging`` module.

Events go to the logger ``stateful_redis`` and its children named after the Rust
module that logged them (``stateful_redis.monitor`` for alerts,
``stateful_redis.connection`` for connections lost and re-established,
``stateful_redis.executor`` ...). Levels: ERROR, WARNING, INFO, and DEBUG for the
core's DEBUG and TRACE. The structured fields are rendered into the message
(``alert firing: ... metric=get_linked_pod.p99_ms value=2.1 threshold=1``) and
given as ``record.fields`` (a dict) too.

A daemon thread of this module hands the events to ``logging`` (the core's
threads never wait for the GIL, see ``docs/logging.md``). It re-reads the
loggers' levels at least once a second: events no ``stateful_redis`` logger
would handle are not even formatted by the core.
"""

import logging
import os
import threading
from typing import Any, Dict

from . import _native

ROOT = "stateful_redis"
# How often the thread re-reads the loggers' levels when no event comes.
_REFRESH_S = 1.0


def _effective_level() -> int:
    """The most verbose level any ``stateful_redis`` logger handles."""
    level = logging.getLogger(ROOT).getEffectiveLevel()
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith(ROOT + ".") and isinstance(logger, logging.Logger):
            level = min(level, logger.getEffectiveLevel())
    # logging.disable(N) turns off N and every level below it.
    return max(level, logging.Logger.manager.disable + 1)


def _emit(levelno: int, name: str, message: str, fields: Dict[str, Any]) -> None:
    logger = logging.getLogger(name)
    if logger.isEnabledFor(levelno):
        # No args: a '%' in the message is not a format directive.
        logger.log(levelno, message, extra={"fields": fields})


def _drain() -> None:
    while True:
        try:
            got = _native._log_records(_REFRESH_S)
            if got is None:
                return
            records, dropped = got
            for record in records:
                _emit(*record)
            if dropped:
                logging.getLogger(ROOT).warning(
                    "%d log events dropped: more came than the logging thread could hand on", dropped
                )
            _native._log_level(_effective_level())
        except Exception:  # a failing handler must not end the forwarding
            pass


def _start() -> None:
    _native._log_open(_effective_level())
    threading.Thread(target=_drain, name="stateful_redis-logging", daemon=True).start()


_start()
# A forked child has no copy of the thread: give it its own.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_start)

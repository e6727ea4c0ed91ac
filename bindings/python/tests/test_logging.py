"""The core's log events reach the ``logging`` module: an alert firing and a
connection lost and re-established, with levels, logger names and fields."""

import logging
import time
from typing import Callable, Iterator, List

import pytest
import redis

import stateful_redis

NS = "app:eu:logic"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def wait_for(self, what: str, match: Callable[[logging.LogRecord], bool]) -> logging.LogRecord:
        # Generous: the events cross a thread; a busy machine is slow.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for r in list(self.records):
                if match(r):
                    return r
            time.sleep(0.02)
        raise AssertionError(f"no {what} was logged: {[r.getMessage() for r in self.records]}")


@pytest.fixture
def logs() -> Iterator[Collect]:
    logger = logging.getLogger("stateful_redis")
    handler = Collect()
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_an_alert_firing_is_a_warning_of_the_monitor_logger(ex: stateful_redis.Executor, logs: Collect) -> None:
    ex.set_linked_pod(NS, "u1", "chat", 1, -1)
    ex.set_alert_threshold("set_linked_pod.p99_ms", 0.000001)
    ex.evaluate_alerts()
    r = logs.wait_for("alert", lambda r: r.getMessage().startswith("alert firing"))
    assert r.levelno == logging.WARNING
    assert r.name == "stateful_redis.monitor"
    assert " metric=set_linked_pod.p99_ms " in r.getMessage()
    assert r.fields["metric"] == "set_linked_pod.p99_ms"  # type: ignore[attr-defined]
    assert r.fields["threshold"] == pytest.approx(0.000001)  # type: ignore[attr-defined]


def test_a_reconnect_is_logged(ex: stateful_redis.Executor, raw: "redis.Redis[str]", logs: Collect) -> None:
    ex.set_linked_pod(NS, "u1", "chat", 1, -1)
    raw.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    # A read retries by itself after the loss.
    assert ex.get_linked_pod(NS, "u1", "chat") == 1
    lost = logs.wait_for("loss", lambda r: r.getMessage().startswith("connection lost"))
    assert lost.levelno == logging.WARNING
    back = logs.wait_for("reconnect", lambda r: r.getMessage().startswith("connection re-established"))
    assert back.levelno == logging.INFO
    assert back.name == "stateful_redis.connection"


def test_events_below_the_logger_level_are_not_handled(ex: stateful_redis.Executor, logs: Collect) -> None:
    logging.getLogger("stateful_redis").setLevel(logging.ERROR)
    ex.set_alert_threshold("set_linked_pod.p99_ms", 0.000001)
    ex.set_linked_pod(NS, "u1", "chat", 1, -1)
    ex.evaluate_alerts()
    # Another event that is handled, logged after the alert: the alert's warning
    # would have arrived before it.
    logging.getLogger("stateful_redis.test").error("marker")
    logs.wait_for("marker", lambda r: r.getMessage() == "marker")
    time.sleep(1.5)  # not a bound: only gives a wrongly forwarded warning time to show
    assert not [r for r in logs.records if r.levelno < logging.ERROR]

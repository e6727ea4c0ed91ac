"""Fixtures: a private redis-server on a free loopback port for the whole session
(stopped at the end), executors connected to it, and a raw redis-py client."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator, Sequence

import pytest
import redis

import stateful_redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VECTORS = os.path.join(ROOT, "tests", "vectors")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisServer:
    def __init__(self, extra_args: Sequence[str] = (), port: int = 0) -> None:
        self.dir = tempfile.mkdtemp(prefix="stateful-redis-py-")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--enable-debug-command", "local", "--dir", self.dir,
             # .ci/run stops the server named here if this process dies first.
             "--pidfile", os.path.join(self.dir, "redis.pid"),
             *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)

    def client(self) -> "redis.Redis[str]":
        c = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, protocol=2)
        c.response_callbacks.clear()  # raw replies, as the vectors encode them
        return c

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[RedisServer]:
    s = RedisServer()
    yield s
    s.stop()


@pytest.fixture
def raw(server: RedisServer) -> Iterator["redis.Redis[str]"]:
    c = server.client()
    c.execute_command("FLUSHALL")
    yield c
    c.close()


@pytest.fixture
def url(server: RedisServer, raw: "redis.Redis[str]") -> str:
    return server.url


@pytest.fixture
def ex(url: str) -> Iterator[stateful_redis.Executor]:
    with stateful_redis.Executor(url=url) as e:
        yield e

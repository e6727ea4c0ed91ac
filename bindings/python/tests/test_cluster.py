"""The binding against a real Redis Cluster (3 masters, 3 replicas): every
conformance vector through `cluster_nodes`, a cluster found from a plain URL, and
the Java key schema refused. Cluster support lives in the core; this shows the
options reach it unchanged from Python."""

import glob
import os
import shutil
import subprocess
import time
from typing import Any, Dict, Iterator, List

import pytest
import redis

import stateful_redis
from conftest import VECTORS, RedisServer, free_cluster_port
from test_vectors import run_vector

FILES = sorted(glob.glob(os.path.join(VECTORS, "*.json")))


class LocalCluster:
    def __init__(self) -> None:
        self.nodes: List[RedisServer] = []
        try:
            for _ in range(6):
                self.nodes.append(RedisServer([
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0"],
                    port=free_cluster_port()))
            subprocess.run(
                ["redis-cli", "--cluster", "create",
                 *[f"127.0.0.1:{n.port}" for n in self.nodes],
                 "--cluster-replicas", "1", "--cluster-yes"],
                check=True, capture_output=True, timeout=60)
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def wait_until_ready(self) -> None:
        """Every node says cluster_state:ok and every replica is in sync."""
        deadline = time.monotonic() + 30
        while True:
            ready = True
            for node in self.nodes:
                c = redis.Redis(host="127.0.0.1", port=node.port, decode_responses=True)
                info = c.execute_command("CLUSTER", "INFO")
                replication = c.info("replication")
                c.close()
                if "cluster_state:ok" not in info or (
                        replication["role"] != "master"
                        and replication.get("master_link_status") != "up"):
                    ready = False
            if ready:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become ready")
            time.sleep(0.1)

    @property
    def urls(self) -> List[str]:
        return [n.url for n in self.nodes]

    def raw(self) -> "RawCluster":
        return RawCluster(self.nodes[0].port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class RawCluster:
    """Raw replies (as the vectors encode them) from a cluster: a keyed command
    goes to the master of its key's slot, FLUSHALL to every master, DBSIZE is
    summed over the masters."""

    def __init__(self, port: int) -> None:
        self.router = redis.RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
        self.clients: Dict[int, "redis.Redis[str]"] = {}

    def client(self, port: int) -> "redis.Redis[str]":
        if port not in self.clients:
            c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, protocol=2)
            c.response_callbacks.clear()
            self.clients[port] = c
        return self.clients[port]

    def execute_command(self, *args: Any) -> Any:
        name = str(args[0]).upper()
        if name in ("FLUSHALL", "DBSIZE"):
            replies = [self.client(n.port).execute_command(*args)
                       for n in self.router.get_primaries()]
            return sum(replies) if name == "DBSIZE" else replies[0]
        node = self.router.get_node_from_key(args[1])
        return self.client(node.port).execute_command(*args)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.router.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    if shutil.which("redis-cli") is None:
        pytest.fail("redis-cli is needed to create the test cluster")
    c = LocalCluster()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def cluster_raw(cluster: LocalCluster) -> Iterator[Any]:
    c = cluster.raw()
    yield c
    c.close()


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_vector_on_a_cluster(path: str, cluster: LocalCluster, cluster_raw: Any) -> None:
    with stateful_redis.Executor(cluster_nodes=cluster.urls) as ex:
        run_vector(path, cluster_raw, lambda op, args: getattr(ex, op)(**args))


def test_a_plain_url_of_a_cluster_node_is_used_as_a_seed(
        cluster: LocalCluster, cluster_raw: Any) -> None:
    cluster_raw.execute_command("FLUSHALL")
    uids = [f"u{i}" for i in range(200)]  # spread over every master's slots
    with stateful_redis.Executor(url=cluster.urls[0]) as ex:
        for i, uid in enumerate(uids):
            ex.set_linked_pod("c", uid, "chat", i % 3, -1)
        by_pod = ex.batch_get_linked_pod("c", uids, "chat")
        assert {pod: len(us) for pod, us in by_pod.items()} == {0: 67, 1: 67, 2: 66}
        assert by_pod[1][:2] == ["u1", "u4"]  # input order kept
        assert ex.get_link_service("c", "u7") == {"chat": 1}
    # The links really are spread: every master holds some.
    for node in cluster.nodes:
        c = redis.Redis(host="127.0.0.1", port=node.port, decode_responses=True)
        if c.info("replication")["role"] == "master":
            assert c.dbsize() > 0
        c.close()


def test_the_java_schema_is_refused_on_a_cluster(cluster: LocalCluster) -> None:
    with pytest.raises(stateful_redis.ConfigError):
        stateful_redis.Executor(cluster_nodes=cluster.urls, key_schema="java")

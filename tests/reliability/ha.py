"""A Redis primary, a replica and three Sentinels on 127.0.0.1, for the failover tests; and a
local HTTP receiver (WebSub subscriber and CDN purge endpoint).

Both data servers are the system ``redis-server`` (one version for both); the Sentinels are
Debian's ``redis-sentinel``. Sentinel timeouts are short (:data:`DOWN_AFTER_MS`) so a failover
takes seconds. Every process runs in its own session and is killed when the test ends.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from tests.reliability.conftest import wait_for
from wirefeed.redis_server import free_port

MASTER = "wirefeed"
DOWN_AFTER_MS = 1500
"""Sentinel's ``down-after-milliseconds``: how long the primary must be silent to be "down"."""
FAILOVER_TIMEOUT_MS = 6000


def require_sentinel() -> tuple[str, str]:
    """The redis-server and redis-sentinel binaries, or skip the test."""
    server, sentinel = shutil.which("redis-server"), shutil.which("redis-sentinel")
    if not server or not sentinel:
        pytest.skip("needs redis-server and redis-sentinel (Debian package redis-sentinel)")
    return server, sentinel


class Node:
    """One redis-server or redis-sentinel process with its config and log in ``folder``."""

    def __init__(self, binary: str, folder: Path, port: int, conf: list[str]) -> None:
        self.folder = folder
        self.port = port
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "node.conf"
        base = [f"port {port}", "bind 127.0.0.1", f'dir "{folder}"', f'logfile "{folder / "node.log"}"']
        self.conf.write_text("\n".join(base + conf) + "\n")
        self.binary = binary
        self.start()

    def start(self) -> None:
        """Start the process (again: same port, folder, config and data)."""
        self.proc = subprocess.Popen(
            [self.binary, str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def client(self, **kw: Any) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1, **kw)

    def wait_up(self) -> None:
        wait_for(f"node on port {self.port} answers", lambda: self.client().ping(), timeout=15)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash of the machine's Redis."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def log(self) -> str:
        path = self.folder / "node.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Topology:
    """Primary + replica (AOF on both) and three Sentinels watching them under :data:`MASTER`."""

    def __init__(self, root: Path) -> None:
        server, sentinel = require_sentinel()
        self.data: list[Node] = []
        self.sentinels: list[Node] = []
        data_conf = ["appendonly yes", "appendfsync everysec", 'save ""', "maxmemory-policy noeviction"]
        primary = Node(server, root / "redis-a", free_port(), data_conf)
        primary.wait_up()
        replica = Node(
            server, root / "redis-b", free_port(), [*data_conf, f"replicaof 127.0.0.1 {primary.port}"]
        )
        replica.wait_up()
        self.data = [primary, replica]
        wait_for(
            "the replica is in sync",
            lambda: replica.client().info("replication")["master_link_status"] == "up",
            timeout=20,
        )
        for n in range(3):
            node = Node(
                sentinel,
                root / f"sentinel-{n}",
                free_port(),
                [
                    f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 2",
                    f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {MASTER} 1",
                ],
            )
            self.sentinels.append(node)
        for node in self.sentinels:
            node.wait_up()
        # Every Sentinel knows the replica and the other two before anything is hurt.
        wait_for(
            "the Sentinels see the replica and each other",
            lambda: all(
                (m := s.client().sentinel_master(MASTER))["num-slaves"] >= 1 and m["num-other-sentinels"] >= 2
                for s in self.sentinels
            ),
            timeout=30,
        )

    def env(self) -> dict[str, str]:
        """What a wirefeed process needs to find the primary through the Sentinels."""
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
            "REDIS_SENTINEL_MASTER": MASTER,
        }

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels report it (a majority of them), if any."""
        seen: list[int] = []
        for s in self.sentinels:
            with contextlib.suppress(redis.RedisError):
                seen.append(int(s.client().sentinel_get_master_addr_by_name(MASTER)[1]))
        for port in set(seen):
            if seen.count(port) >= 2:
                return port
        return None

    def node(self, port: int) -> Node:
        return next(n for n in self.data if n.port == port)

    def primary(self) -> Node:
        port = self.primary_port()
        assert port is not None, "the Sentinels agree on no primary"
        return self.node(port)

    def client(self) -> redis.Redis:
        """A client of the current primary (for the test's own reads)."""
        return redis.Redis(port=self.primary().port, socket_timeout=10)

    def replicas_in_sync(self) -> int:
        """Replicas the current primary streams to."""
        with contextlib.suppress(redis.RedisError, AssertionError):
            return int(self.client().info("replication")["connected_slaves"])
        return 0

    def is_primary(self, node: Node) -> bool:
        with contextlib.suppress(redis.RedisError):
            return node.client().info("replication")["role"] == "master"
        return False

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.kill()


@dataclass
class Request:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1: echoes ``hub.challenge`` to a GET (a WebSub subscriber's
    verification) and records every POST; answers a POST with ``statuses`` first (then 204)."""

    statuses: list[int] = field(default_factory=list)
    posts: list[Request] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [p for p in self.posts if path is None or p.path == path]

    def serve(self) -> http.server.ThreadingHTTPServer:
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                self._answer(200, query.get("hub.challenge", "").encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec._lock:
                    rec.posts.append(Request(time.monotonic(), self.path, dict(self.headers.items()), body))
                    status = rec.statuses.pop(0) if rec.statuses else 204
                self._answer(status)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

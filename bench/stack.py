"""The real stack as subprocesses: our own Redis, rq workers, the web server, nginx.

Everything listens on 127.0.0.1 on free ports and keeps its files (Redis data, logs, nginx
prefix, static files, proxy cache) in one temporary work folder. Every child runs in its own
session, so :meth:`Stack.stop` ends it and its own children (gunicorn workers, rq work horses)
by its process group id; on Linux a child also gets SIGTERM if the bench dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

import wirefeed.feeds
from wirefeed.feeds.store import keys
from wirefeed.redis_server import EmbeddedRedis, free_port

ROOT = Path(wirefeed.feeds.__file__).resolve().parents[1]
"""The checkout under test (where ``wirefeed.feeds`` is imported from; processes start there)."""
TOKEN = "bench-token-not-secret"
PY = sys.executable

RESET_PATTERNS = (
    "wf:*",
    "bench:*",
    "rq:job:*",
    "rq:results:*",
    "rq:executions:*",
    "rq:finished:*",
    "rq:failed:*",
    "rq:queue:*",
)
"""Keys :meth:`Stack.reset` deletes between runs (rq's worker registrations stay)."""


def _die_with_parent() -> None:
    """In the child: SIGTERM when the bench process dies (PR_SET_PDEATHSIG), so nothing leaks."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Stack:
    """The processes of one bench run; :meth:`stop` ends every one of them."""

    workdir: Path
    categorizers: int = 2
    web_workers: int = 2
    persist: bool = True
    """Redis with AOF (``appendfsync everysec``), as ``wirefeed up`` and docker-compose run it."""
    redis_server: EmbeddedRedis | None = None
    children: dict[str, Child] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    """Chosen up front: workers render feeds with links to it (``WIREFEED_BASE_URL``)."""

    # -- lifecycle -------------------------------------------------------------------------
    def start_redis(self) -> redis.Redis:
        binary = os.environ.get("WIREFEED_REDIS_SERVER") or None  # as `wirefeed up` runs it
        self.redis_server = EmbeddedRedis(self.workdir / "redis", persist=self.persist, binary=binary).start()
        return self.client()

    @property
    def redis_url(self) -> str:
        assert self.redis_server is not None, "start_redis() first"
        return self.redis_server.url

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=30)

    def env(self, **extra: str) -> dict[str, str]:
        base = f"http://127.0.0.1:{self.web_port}"
        return {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "WIREFEED_BASE_URL": base,
            "WIREFEED_INGEST_TOKEN": TOKEN,
            "WIREFEED_INGEST_RATE": "1000000",  # the probes post many small dumps a minute
            "WIREFEED_DATA_DIR": str(self.workdir / "var"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env or self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        child = Child(name, proc, log)
        self.children[name] = child
        return child

    def start_all(self) -> None:
        """Redis, the shipped workers and the web server: the stack every scenario starts from."""
        self.start_redis()
        self.start_workers()
        self.start_web()

    def start_workers(self) -> None:
        """One ingest worker, one express worker and ``categorizers`` categorizer workers, as
        ``wirefeed up`` starts them."""
        self.spawn("ingest-worker", [PY, "-m", "wirefeed", "worker", "--queues", "ingest"])
        self.spawn("express-worker", [PY, "-m", "wirefeed", "worker", "--queues", "express"])
        for n in range(self.categorizers):
            self.spawn(f"categorizer-{n + 1}", [PY, "-m", "wirefeed", "worker", "--queues", "categorize"])
        self.wait_workers(1, keys.INGEST_QUEUE)
        self.wait_workers(1, keys.EXPRESS_QUEUE)
        self.wait_workers(self.categorizers, keys.CATEGORIZE_QUEUE)

    def start_baseline_workers(self) -> None:
        """The obvious design's workers (:mod:`bench.baseline_rq`): forking, one story per job."""
        from bench import baseline_rq

        env = self.env(**baseline_rq.ENV)
        self.spawn("baseline-ingest", [PY, "-m", "bench.baseline_rq", "ingest"], env)
        for n in range(self.categorizers):
            self.spawn(f"baseline-categorize-{n + 1}", [PY, "-m", "bench.baseline_rq", "categorize"], env)
        self.wait_workers(1, keys.INGEST_QUEUE)
        self.wait_workers(self.categorizers, keys.CATEGORIZE_QUEUE)

    def stop_workers(self) -> None:
        """Stop every rq worker (shipped or baseline) and wait until none is registered."""
        workers = ("ingest-worker", "express-worker", "categorizer", "baseline-")
        for name in [n for n in self.children if n.startswith(workers)]:
            self.stop_child(name)
        r = self.client()
        deadline = time.monotonic() + 15
        queues = (keys.INGEST_QUEUE, keys.EXPRESS_QUEUE, keys.CATEGORIZE_QUEUE)
        while any(r.scard(f"rq:workers:{q}") for q in queues) and time.monotonic() < deadline:
            time.sleep(0.05)
        for q in queues:  # a worker killed without its warm shutdown leaves its registration
            r.delete(f"rq:workers:{q}")

    def wait_workers(self, count: int, queue: str, timeout: float = 30.0) -> None:
        """Until ``count`` rq workers listen on ``queue`` in our Redis (ready to take jobs)."""
        r = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            if r.scard(f"rq:workers:{queue}") >= count:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{count} rq workers did not register on {queue} within {timeout} s")

    def start_web(self, **env: str) -> int:
        """``wirefeed serve`` (gunicorn gthread) as docker-compose runs it: 2 workers; ``env``
        adds to its environment."""
        argv = [
            PY,
            "-m",
            "wirefeed",
            "serve",
            "--port",
            str(self.web_port),
            "--workers",
            str(self.web_workers),
        ]
        self.spawn("web", argv, self.env(**env))
        wait_http(self.web_port, "/healthz", check=self.check)
        return self.web_port

    def check(self) -> None:
        for child in self.children.values():
            if not child.alive():
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")

    def stop_child(self, name: str, timeout: float = 15.0) -> None:
        child = self.children.pop(name, None)
        if child is None or not child.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.proc.wait()

    def stop(self) -> None:
        for name in list(self.children):
            self.stop_child(name)
        if self.redis_server is not None:
            self.redis_server.stop()
            self.redis_server = None

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete every story, feed, ingest and rq job (the workers stay registered)."""
        r = self.client()
        for pattern in RESET_PATTERNS:
            batch: list[bytes] = []
            for key in r.scan_iter(match=pattern, count=5000):
                batch.append(key)
                if len(batch) >= 5000:
                    r.unlink(*batch)
                    batch = []
            if batch:
                r.unlink(*batch)
        r.close()

    def pids(self, prefix: str) -> list[int]:
        """Pids of the children whose name starts with ``prefix``, with their descendants."""
        out: list[int] = []
        for name, child in self.children.items():
            if name.startswith(prefix) and child.alive():
                out.append(child.pid)
                out.extend(descendants(child.pid))
        return out


# -- helpers -------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Pids of the children (recursively) of ``pid``, from /proc."""
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def peak_rss_mb(pids: list[int]) -> float:
    """Largest peak resident set (VmHWM) among ``pids``, in MiB."""
    best = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
            if m:
                best = max(best, int(m.group(1)))
    return best / 1024


def wait_http(port: int, path: str, timeout: float = 30.0, check: object = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if callable(check):
            check()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status < 500:
                return
            last = f"status {resp.status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}{path} within {timeout} s ({last})")


def all_slugs() -> list[str]:
    from wirefeed.config.settings import Settings
    from wirefeed.feeds.categorize.taxonomy import Taxonomy

    return [keys.ALL_TOPIC, *Taxonomy.load(Settings().topics_path).topics]


@contextlib.contextmanager
def temp_workdir(keep: bool = False) -> Iterator[Path]:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="wirefeed-bench-"))
    path.chmod(0o755)  # nginx workers (user nobody) read the static root and cache under it
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)

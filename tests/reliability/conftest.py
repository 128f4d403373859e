"""Process fixtures of the reliability tests: a Redis server, rq workers and the web service that
each test starts, kills and restarts itself, on ports and data folders of its own.

Nothing here touches a Redis the machine already runs (nor the one the other tests share):
every test gets an :class:`EmbeddedRedis` with AOF persistence in its own ``tmp_path``, on a free
port, and every process a test starts is stopped (its whole process group killed) when the test
ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
import requests
from rq import Queue, Worker
from rq.registry import StartedJobRegistry

from tests import procs
from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.connection import connect
from wirefeed.redis_server import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "reliability-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BATCH_SIZE = 50
"""Small batches: a 5,000-story dump is ~100 categorizer jobs, so kills land mid-run."""


def wait_for(
    what: str,
    check: Callable[[], Any],
    timeout: float,
    poll: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` (and what
    ``explain`` says about the state then) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (redis.RedisError, requests.RequestException, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (f" ({explain()})" if explain else ""))
        time.sleep(poll)


class RedisServer:
    """A real redis-server with AOF on, in ``data_dir``, that a test may stop, kill and restart
    on the same port and folder."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.server = EmbeddedRedis(data_dir, port or free_port(), persist=True)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return connect(self.url(db))

    def start(self) -> RedisServer:
        self.server.start()
        return self

    def stop(self) -> None:
        """SIGTERM: Redis flushes its AOF and exits."""
        self.server.stop()

    def kill(self) -> None:
        """SIGKILL: a crash; only what the AOF already holds comes back."""
        proc = self.server.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def running(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None


class Proc:
    """A process started by a test: its own session (so its children can be killed with it),
    its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log
        self._log = log.open("ab")
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL this process alone (not its group): a crash."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def reap_group(self) -> None:
        """Kill whatever is left of the process, its group and its descendants in other groups
        (``wirefeed up``'s redis-server has a session of its own) (teardown)."""
        procs.stop_tree(self.popen, grace=0)
        self._log.close()


class Stack:
    """The processes of one test: workers and web servers on a Redis given by URL."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[Proc] = []
        self._n = 0

    def env(self, redis_url: str, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("WIREFEED_") and k not in ("REDIS_URL", "PYTEST_CURRENT_TEST")
        }
        env.update(
            {
                "REDIS_URL": redis_url,
                "WIREFEED_BATCH_SIZE": str(BATCH_SIZE),
                # every dump takes the ingest -> categorize path these tests break on purpose
                # (the express path runs the same functions in one job: tests/test_express.py)
                "WIREFEED_EXPRESS_MAX_STORIES": "0",
                "WIREFEED_INGEST_TOKEN": TOKEN,
                "WIREFEED_DATA_DIR": str(self.tmp_path / "var"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Proc:
        self._n += 1
        proc = Proc(name, argv, env, self.tmp_path / f"{self._n:02d}-{name}.log", cwd)
        self.procs.append(proc)
        return proc

    def worker(self, redis_url: str, queues: str, **extra: str) -> Proc:
        argv = [sys.executable, "-m", "wirefeed", "worker", "--queues", queues]
        return self.spawn(f"worker-{queues}", argv, self.env(redis_url, **extra))

    def web(self, redis_url: str, *, workers: int = 1, **extra: str) -> tuple[Proc, str]:
        """``wirefeed serve`` (gunicorn) on a free port; returns the process and its base URL,
        once /healthz answers."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "wirefeed", "serve", "--port", str(port), "--workers", str(workers)]
        proc = self.spawn("web", argv, self.env(redis_url, WIREFEED_BASE_URL=base, **extra))
        wait_for(
            "web service answers /healthz",
            lambda: proc.alive() and requests.get(f"{base}/healthz", timeout=2).status_code == 200,
            timeout=30,
        )
        return proc, base

    def stop_all(self) -> None:
        for p in self.procs:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
        for p in self.procs:
            p.reap_group()


@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.stop_all()


def settings_for(url: str, **changes: Any) -> Settings:
    base = {"redis_url": url, "ingest_token": TOKEN, "batch_size": BATCH_SIZE, "express_max_stories": 0}
    return Settings(**{**base, **changes})


# -- observing rq --------------------------------------------------------------------------


def worker_name(client: redis.Redis, pid: int, timeout: float = 30) -> str:
    """The rq name of the worker process ``pid`` (once it has registered)."""

    def find() -> str | None:
        return next((w.name for w in Worker.all(connection=client) if w.pid == pid), None)

    return wait_for(f"worker pid {pid} registers with rq", find, timeout)


def started_jobs(client: redis.Redis, queue: str = keys.CATEGORIZE_QUEUE) -> list[str]:
    return StartedJobRegistry(queue=Queue(queue, connection=client)).get_job_ids(cleanup=False)


def job_of_worker(client: redis.Redis, name: str, queue: str = keys.CATEGORIZE_QUEUE) -> str | None:
    """The id of the job the worker named ``name`` is running (started, not finished), if any:
    the worker named by the rq execution of a started job."""
    registry = StartedJobRegistry(queue=Queue(queue, connection=client))
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        if client.hget(f"rq:execution:{job_id}:{execution_id}", "worker_name") == name.encode():
            return job_id
    return None


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def cli(redis_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m wirefeed ARGS`` against ``redis_url``, from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREFEED_") and k != "REDIS_URL"}
    env.update({"REDIS_URL": redis_url, **extra})
    return subprocess.run(
        [sys.executable, "-m", "wirefeed", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def post(base: str, body: bytes, **headers: str) -> requests.Response:
    return requests.post(f"{base}/api/ingest", data=body, headers={**AUTH, **headers}, timeout=60)


def wait_ingest(base: str, resp: requests.Response, timeout: float = 120) -> dict[str, Any]:
    """Poll an accepted ingest until it is done; return its final status."""
    assert resp.status_code == 202, (resp.status_code, resp.text)
    url = base + resp.json()["status_url"]

    def done() -> dict[str, Any] | None:
        status = requests.get(url, headers=AUTH, timeout=10).json()
        return status if status["state"] == "done" else None

    return wait_for(f"ingest {url} done", done, timeout, poll=0.1)

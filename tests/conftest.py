"""Shared fixtures: a real Redis server, real rq worker processes, the real app over HTTP.

Redis: ``WIREFEED_TEST_REDIS_URL`` if set (CI points it at a server it started), else an
embedded redis-server that the test session starts and stops itself. Tests delete only
wirefeed's own ``wf:*`` keys between tests; the workers' rq keys stay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from tests import procs
from wirefeed.config.settings import Settings
from wirefeed.feeds.store.connection import connect
from wirefeed.redis_server import EmbeddedRedis, free_port
from wirefeed.services.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "wire-sample.txt"
TOKEN = "test-token-123"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("WIREFEED_TEST_REDIS_URL")
    if given:
        # An earlier run (perhaps killed) may have left jobs in rq's registries, which tests
        # that count failed jobs would see: start from an empty test database.
        c = connect(given)
        for pattern in ("wf:*", "rq:*"):
            for batch in _chunks(c.scan_iter(match=pattern, count=1000), 1000):
                c.delete(*batch)
        c.close()
        yield given
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False) as server:
        yield server.url


def _chunks(items: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def clean(client: redis.Redis) -> None:
    """Delete every wirefeed key (and queued wirefeed jobs) without touching rq's worker keys."""
    for pattern in ("wf:*", "rq:queue:wirefeed-*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        if batch:
            client.delete(*batch)


@pytest.fixture()
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = connect(redis_url)
    clean(c)
    yield c
    c.close()


@pytest.fixture(scope="session")
def server_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def settings(redis_url: str, server_port: int) -> Settings:
    return Settings(
        redis_url=redis_url,
        base_url=f"http://127.0.0.1:{server_port}",
        ingest_token=TOKEN,
        max_dump_bytes=200_000,
        batch_size=20,
        websub_allow=("127.0.0.1/32",),  # the test subscribers listen on loopback
        websub_lease_min=1,
        websub_retry_intervals=(1, 2),
        # Many tests stamp stories at a fixed date long past: retention would expire them under
        # a test's feet. Retention is tested on its own (test_newsroom, with explicit days).
        retention_days=0,
    )


@pytest.fixture(scope="session")
def workers(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    """An ingest worker, an express worker, two categorizer workers and a WebSub worker: real
    rq processes, as ``wirefeed up`` runs them."""
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "WIREFEED_BASE_URL": settings.base_url,
        "WIREFEED_BATCH_SIZE": str(settings.batch_size),
        "WIREFEED_MAX_DUMP_BYTES": str(settings.max_dump_bytes),
        "WIREFEED_WEBSUB_ALLOW": ",".join(settings.websub_allow),
        "WIREFEED_WEBSUB_LEASE_MIN": str(settings.websub_lease_min),
        "WIREFEED_WEBSUB_RETRY": ",".join(map(str, settings.websub_retry_intervals)),
        "WIREFEED_RETENTION_DAYS": str(settings.retention_days),
    }
    started = [
        subprocess.Popen([sys.executable, "-m", "wirefeed", "worker", "--queues", q], env=env, cwd=ROOT)
        for q in ("ingest", "express", "categorize", "categorize", "websub")
    ]
    time.sleep(0.3)
    yield started
    for p in started:
        p.terminate()
    for p in started:
        procs.stop_tree(p, grace=20)


@pytest.fixture(scope="session")
def live_server(settings: Settings, server_port: int) -> Iterator[str]:
    """The real Flask app served over HTTP on 127.0.0.1 (threaded werkzeug server)."""
    app = create_app(settings)
    server = make_server("127.0.0.1", server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield settings.base_url
    server.shutdown()


# -- no process outlives the test run (tests/procs.py) --------------------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    """Orphans of processes the tests start become children of pytest, so the check at the end
    of the session finds them."""
    procs.become_subreaper()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process the tests started is still running (and kill it)."""
    left = procs.leftover_processes()
    if left:
        listed = "".join(f"\n  {p}" for p in left)
        sys.stderr.write(f"\n{len(left)} processes the tests started outlived them (killed now):{listed}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

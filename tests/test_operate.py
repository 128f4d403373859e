"""Running wirefeed as an operator does: ``wirefeed up`` scraped by a real Prometheus server, its
``/metrics`` (gunicorn in multiprocess mode) and ``/readyz``, ``check-worker`` under it, a
second ``up`` on a taken port, each output line marked with its process, and JSON logs from the
workers and from gunicorn.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import clients
from wirefeed.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Up:
    base: str
    port: int
    env: dict[str, str]
    data: Path
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)


def _read(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)


def wait_for(what: str, check: object, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while True:
        got = check()  # type: ignore[operator]
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """``wirefeed up`` on its own data dir and port (embedded Redis), with the sample ingested."""
    tmp = tmp_path_factory.mktemp("up")
    port = free_port()
    env = {**os.environ, "WIREFEED_DATA_DIR": str(tmp / "var"), "HOME": str(tmp)}
    for name in ("REDIS_URL", "WIREFEED_LOG_FORMAT", "WIREFEED_PORT", "WIREFEED_BASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirefeed", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=_read, args=(proc, lines), daemon=True).start()
    run = Up(f"http://127.0.0.1:{port}", port, env, tmp / "var", proc, lines)
    try:
        wait_for("wirefeed up", lambda: "wirefeed is up" in run.output() or proc.poll() is not None, 120)
        assert "wirefeed is up" in run.output(), run.output()
        yield run
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_prometheus_scrapes_wirefeed_up(up: Up, tmp_path: Path) -> None:
    prometheus = clients.binary("prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    deployed = (ROOT / "deploy" / "prometheus.yml").read_text()
    assert "web:8080" in deployed  # the shipped config, pointed at this run's web service
    config.write_text(
        deployed.replace("web:8080", f"127.0.0.1:{up.port}").replace(
            "scrape_interval: 15s", "scrape_interval: 1s"
        )
    )
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def query(expr: str) -> list[dict[str, object]]:
        try:
            resp = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr}, timeout=5)
        except requests.ConnectionError:
            return []
        return resp.json()["data"]["result"] if resp.ok else []

    try:
        [target] = wait_for("a scrape of wirefeed", lambda: query('up{job="wirefeed"} == 1'), 90)  # type: ignore[misc]
        assert target["metric"]["instance"] == f"127.0.0.1:{up.port}"  # type: ignore[index]
        [new] = wait_for(  # type: ignore[misc]
            "the sample's stories in Prometheus",
            lambda: query('wirefeed_stories_ingested_total{outcome="new"}'),
        )
        assert float(new["value"][1]) == 48  # type: ignore[index]
        queues = query("wirefeed_queue_jobs")
        assert {r["metric"]["queue"] for r in queues} == {"ingest", "express", "categorize", "websub"}  # type: ignore[index]
        assert query("wirefeed_redis_up == 1")
        assert query("wirefeed_ingest_to_served_seconds_count >= 1")
    finally:
        proc.terminate()
        proc.wait(30)


def test_metrics_under_gunicorn_sum_every_worker(up: Up) -> None:
    """``wirefeed serve`` runs two gunicorn workers: feed responses are counted in both and shown
    as one sum, from the multiprocess folder ``serve`` set up (and wiped) in the data dir; the
    workers' own counts come from Redis."""
    key = ("wirefeed_feed_responses_total", (("format", "atom"), ("status", "200")))
    before = scrape(up.base).get(key, 0.0)
    n = 40
    for _ in range(n):  # a new connection each: the kernel spreads them over both workers
        assert requests.get(f"{up.base}/feeds/all.atom", timeout=10).status_code == 200
    # Each worker moves its counts to its metric file within METRICS_FLUSH_SECONDS.
    wait_for("every response counted", lambda: scrape(up.base)[key] - before >= n, 30)
    after = scrape(up.base)
    assert after[key] - before == n
    assert after[("wirefeed_stories_ingested_total", (("outcome", "new"),))] == 48
    files = list((up.data / "metrics" / f"web-{up.port}").glob("*.db"))
    assert files, "no multiprocess metric files"


def test_readyz_and_check_worker_under_up(up: Up) -> None:
    resp = wait_for("readyz", lambda: (r := requests.get(f"{up.base}/readyz", timeout=10)).ok and r)
    assert resp.json()["ready"] is True  # type: ignore[union-attr]
    cli = [sys.executable, "-m", "wirefeed", "check-worker"]
    ok = subprocess.run(cli, env=up.env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr  # ingest and categorize: one worker each, as up runs them
    every = subprocess.run(
        [*cli, "--queues", "ingest,express,categorize,websub"],
        env=up.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert every.returncode == 0, every.stderr
    bad = subprocess.run(
        [*cli, "--queues", "nosuch"], env=up.env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "wirefeed: unknown queue(s) nosuch: choose from ingest, express, categorize, websub"
    ]


def test_up_on_a_taken_port_says_so_at_once(up: Up, tmp_path: Path) -> None:
    env = {**up.env, "WIREFEED_DATA_DIR": str(tmp_path / "var")}
    second = subprocess.run(
        [sys.executable, "-m", "wirefeed", "up", "--port", str(up.port)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert second.returncode == 1
    [line] = second.stderr.splitlines()
    assert line.startswith(f"wirefeed: port {up.port} is in use; try --port ")
    assert "Connection in use" not in second.stdout + second.stderr
    assert not (tmp_path / "var" / "redis").exists()  # refused before starting anything
    serve = subprocess.run(
        [sys.executable, "-m", "wirefeed", "serve", "--port", str(up.port)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert serve.returncode == 1
    assert serve.stderr.startswith(f"wirefeed: port {up.port} is in use; try --port ")
    assert len(serve.stderr.splitlines()) == 1


def test_each_line_of_up_names_its_process(up: Up) -> None:
    requests.get(f"{up.base}/healthz", timeout=10)
    lines = up.output().splitlines()
    prefixes = {line.split(" | ", 1)[0].strip() for line in lines if " | " in line}
    assert {"web", "categorizer-1"} <= prefixes, up.output()
    assert any(line.startswith("web ") and "Booting worker" in line for line in lines)  # gunicorn's own


def test_json_logs_from_a_worker_and_from_gunicorn(redis_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WIREFEED_LOG_FORMAT": "json",
        "WIREFEED_DATA_DIR": str(tmp_path),
    }
    worker = subprocess.run(
        [sys.executable, "-m", "wirefeed", "worker", "--queues", "websub", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    records = [json.loads(line) for line in worker.stderr.splitlines() if line.strip()]
    assert records, worker.stderr
    ready = [r for r in records if r["event"] == "worker_ready"]
    assert ready and ready[0]["role"] == "worker:websub" and ready[0]["level"] == "info"
    assert all({"ts", "level", "role", "event"} <= set(r) for r in records)

    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "wirefeed", "serve", "--port", str(port), "--workers", "1", "--access-log"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=_read, args=(web, lines), daemon=True).start()
    try:
        base = f"http://127.0.0.1:{port}"

        def answered() -> bool:
            try:
                return requests.get(f"{base}/healthz", headers={"X-Request-Id": "req-42"}, timeout=5).ok
            except requests.RequestException:  # not listening yet, or still loading the app
                return False

        wait_for("wirefeed serve", answered)
        wait_for("an access line", lambda: any("req-42" in line for line in lines))
    finally:
        web.terminate()
        web.wait(30)
    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    [access] = [r for r in records if r.get("request_id") == "req-42"][:1]
    assert access["event"] == "request" and access["status"] == 200 and access["path"] == "/healthz"
    assert access["role"] == "web"
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)


def test_up_marks_json_lines_with_their_process(capsys: pytest.CaptureFixture[str]) -> None:
    from wirefeed.config.settings import Settings
    from wirefeed.supervisor import Supervisor

    sup = Supervisor(Settings(log_format="json"))
    sup._emit("web", '{"level": "info", "event": "request", "status": 200}')
    sup._emit("categorizer-1", "a line that is not JSON")
    sup.out("wirefeed is up")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"process": "web", "level": "info", "event": "request", "status": 200},
        {"process": "categorizer-1", "event": "a line that is not JSON"},
        {"process": "up", "event": "wirefeed is up"},
    ]

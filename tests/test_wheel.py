"""The package as a user installs it: a wheel built from the checkout installs only the
``wirefeed`` namespace, ships every module and data file, and runs from a fresh virtualenv
outside the checkout (``wirefeed up --no-sample``, an ingest of the sample, a feed fetch)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import requests

from wirefeed.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"wirefeed": "wirefeed", "config": "config", "feeds": "feeds", "models": "models",
           "sample": "sample", "services": "services", "workers": "workers"}  # fmt: skip
"""Checkout folder -> where it lands in the wheel (under ``wirefeed/``, or as ``wirefeed`` itself)."""
NOT_SHIPPED = ("models/build/",)
"""Offline scripts that rebuild the models; they read data the service never needs."""
DATA_SUFFIXES = (".toml", ".conf", ".json", ".npy", ".txt", ".html", ".css", ".js", ".svg")


def wheel_path(checkout_path: str) -> str:
    top, _, rest = checkout_path.partition("/")
    return f"wirefeed/{rest}" if top == "wirefeed" else f"wirefeed/{FOLDERS[top]}/{rest}"


def expected_files() -> set[str]:
    listing = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=ROOT, capture_output=True, text=True, check=True)
    out = set()
    for path in tracked.stdout.split():
        top = path.split("/")[0]
        if top not in FOLDERS or path.startswith(NOT_SHIPPED):
            continue
        if path.endswith(".py") or path.endswith(DATA_SUFFIXES) or "/mpnet-static-256/" in path:
            out.add(wheel_path(path))
    return out - {"wirefeed/models/README.md"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the checkout (an in-tree build would reuse ``build/``)."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "wirefeed"
    skip = shutil.ignore_patterns(".*", "build", "var", "*.egg-info", "__pycache__", "test-artifacts")
    shutil.copytree(ROOT, source, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("wirefeed-*.whl")
    return found


def test_the_wheel_installs_no_top_level_name_but_wirefeed(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"wirefeed"}


def test_the_wheel_ships_every_module_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert expected_files() - names == set()
    assert not any(n.startswith("wirefeed/models/build/") for n in names)
    for needed in ("wirefeed/models/mpnet-static-256/embeddings.npy", "wirefeed/sample/wire-sample.txt",
                   "wirefeed/config/topics.toml", "wirefeed/config/nginx.conf"):  # fmt: skip
        assert needed in names


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with the wheel (and its dependencies) installed."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, str(wheel)], check=False, capture_output=True, text=True, cwd=env_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    return env_dir


@pytest.fixture()
def service(installed: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """``wirefeed up --no-sample`` from the installed package, run in an empty folder; its URL,
    environment and output so far."""
    port = free_port()
    env = {**os.environ, "PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for name in ("REDIS_URL", "WIREFEED_DATA_DIR", "WIREFEED_TOPICS", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [str(installed / "bin" / "wirefeed"), "up", "--no-sample", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if "wirefeed is up" in line:
                break
        assert "wirefeed is up" in "".join(lines), "".join(lines)
        threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True).start()
        yield f"http://127.0.0.1:{port}", env, lines
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def test_the_installed_wheel_runs_the_service_from_any_folder(
    installed: Path, service: tuple[str, dict[str, str], list[str]], tmp_path: Path
) -> None:
    base, env, output = service
    python = str(installed / "bin" / "python")
    where = subprocess.run(
        [python, "-c", "import wirefeed.runtime as r; print(r.__file__); print(r.SAMPLE_DUMP)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    package, sample = where.stdout.split()
    assert package.startswith(str(installed)) and sample.startswith(str(installed))  # not the checkout
    done = subprocess.run(
        [str(installed / "bin" / "wirefeed"), "ingest", sample, "--wait", "--timeout", "120"],
        check=False, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=150,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr + "".join(output)
    assert "48 new" in done.stdout, done.stdout + "".join(output)
    feed = feedparser.parse(requests.get(f"{base}/feeds/all.atom", timeout=10).content)
    assert feed.bozo == 0
    assert len(feed.entries) == 48
    topics = requests.get(f"{base}/topics", timeout=10).json()["topics"]
    assert sum(t["count"] for t in topics if t["slug"] != "all") >= 48  # the categorizer ran

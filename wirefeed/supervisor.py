"""``wirefeed up``: run the whole service in one terminal and stop all of it on Ctrl-C.

    start Redis (embedded unless REDIS_URL is set)  -> <data_dir>/redis, AOF on
    start 1 ingest worker, 1 express worker, N categorizer workers, 1 WebSub worker, the web server (gunicorn)
    wait for /healthz; ingest the sample dump; print the feed URLs
    watch <data_dir>/inbox for dropped dumps
    on Ctrl-C or SIGTERM: SIGTERM the workers (each finishes its current batch) and the web
    server, wait for them, then stop Redis (which flushes its AOF)

Children run in their own sessions, so a terminal's Ctrl-C reaches only this process, which
stops them in order; on Linux they also get SIGTERM if this process dies. Their output comes
through this process, each line prefixed with the child's name (``web            | ...``), or,
with ``WIREFEED_LOG_FORMAT=json``, as JSON lines carrying a ``process`` field.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

import redis

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import InputRejected, WirefeedError
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store.connection import client_for
from wirefeed.progress import items, outcome_line
from wirefeed.redis_server import EmbeddedRedis
from wirefeed.runtime import SAMPLE_DUMP, check_port, url_file


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the parent dies (no orphans)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Supervisor:
    def __init__(
        self, settings: Settings, *, ingest_sample: bool = True, out: Callable[[str], None] | None = None
    ):
        self.settings = settings
        self.ingest_sample = ingest_sample
        self.out = out or self._say
        self.redis_server: EmbeddedRedis | None = None
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._pumps: list[threading.Thread] = []
        self._write_lock = threading.Lock()
        self._stopping = False

    # -- output ------------------------------------------------------------------
    def _write(self, text: str) -> None:
        with self._write_lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def _say(self, text: str) -> None:
        """This process's own lines: as they are, or as JSON (``process: up``)."""
        for line in text.splitlines() or [""]:
            self._emit("up", line) if self.settings.log_format == "json" else self._write(line)

    def _emit(self, name: str, line: str) -> None:
        """One line of a child's output, marked with the child's name."""
        if self.settings.log_format != "json":
            self._write(f"{name:<14} | {line}")
            return
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            obj = {"event": line}
        self._write(json.dumps({"process": name, **obj}, ensure_ascii=False))

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._emit(name, raw.decode(errors="replace").rstrip("\r\n"))
        stream.close()

    # -- start -------------------------------------------------------------------
    def start(self) -> str:
        """Start everything; return the Redis URL in use (``sentinel:<master>`` with Sentinel)."""
        s = self.settings
        check_port(s.host, s.port)
        url = s.redis_url
        if url is None and not s.redis_sentinels:
            self.redis_server = EmbeddedRedis(s.data_dir / "redis", binary=s.redis_server).start()
            url = self.redis_server.url
            url_file(s).parent.mkdir(parents=True, exist_ok=True)
            url_file(s).write_text(url + "\n")
            self.out(f"embedded Redis on {url} (data in {self.redis_server.data_dir})")
        self.settings = s = s.with_(redis_url=url)
        env = {
            **os.environ,
            **({"REDIS_URL": url} if url else {}),
            "WIREFEED_BASE_URL": s.base_url,
            "WIREFEED_DATA_DIR": str(s.data_dir),
            "WIREFEED_PORT": str(s.port),
            "WIREFEED_TOPICS": str(s.topics_path),
        }
        if s.ingest_token:
            env["WIREFEED_INGEST_TOKEN"] = s.ingest_token
        py = sys.executable
        self._spawn("ingest-worker", [py, "-m", "wirefeed", "worker", "--queues", "ingest"], env)
        self._spawn("express-worker", [py, "-m", "wirefeed", "worker", "--queues", "express"], env)
        self._spawn("websub-worker", [py, "-m", "wirefeed", "worker", "--queues", "websub"], env)
        for n in range(s.categorizer_workers):
            self._spawn(
                f"categorizer-{n + 1}", [py, "-m", "wirefeed", "worker", "--queues", "categorize"], env
            )
        self._spawn("web", [py, "-m", "wirefeed", "serve", "--port", str(s.port)], env)
        self._start_pumps()
        self._wait_healthy()
        return url or f"sentinel:{s.redis_sentinel_master}"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 (no threads yet)
        )
        self.children.append((name, proc))

    def _start_pumps(self) -> None:
        """A thread per child copying its output (started after the last fork: preexec_fn and
        threads do not mix)."""
        for name, proc in self.children:
            assert proc.stdout is not None
            pump = threading.Thread(
                target=self._pump, args=(name, proc.stdout), name=f"out-{name}", daemon=True
            )
            pump.start()
            self._pumps.append(pump)

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        url = f"http://{self.settings.host}:{self.settings.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise WirefeedError(f"the web service did not answer on {url} within {timeout} s")

    def _check_children(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise WirefeedError(f"{name} exited with status {proc.returncode}")

    # -- run ---------------------------------------------------------------------
    def run(self) -> int:
        """Start, ingest the sample, print URLs, watch the inbox until Ctrl-C or SIGTERM."""
        signal.signal(signal.SIGTERM, self._on_term)
        # Ctrl-C (SIGINT) stops everything even when this was started with SIGINT ignored (a
        # shell's background job, a test runner in one): an ignored signal stays ignored across
        # exec, and Python then installs no handler of its own. Children get the default again.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.start()
            client = client_for(self.settings)
            if self.ingest_sample:
                self._ingest_file(client, SAMPLE_DUMP, wait=True)
            self._print_urls()
            inbox = self.settings.data_dir / "inbox"
            inbox.mkdir(parents=True, exist_ok=True)
            self.out(f"drop wire dumps into {inbox}/ to ingest them; Ctrl-C stops everything")
            while not self._stopping:
                self._check_children()
                for path in sorted(inbox.glob("*.txt")):
                    self._ingest_file(client, path, wait=False, move=True)
                time.sleep(defaults.INBOX_POLL_SECONDS)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return 0

    def _on_term(self, signum: int, frame: object) -> None:
        self._stopping = True
        raise KeyboardInterrupt

    def _ingest_file(self, client: redis.Redis, path: Path, *, wait: bool, move: bool = False) -> None:
        try:
            sub = ingests.submit(
                client, self.settings, read_dump(path, self.settings.max_dump_bytes), source=path.name
            )
        except InputRejected as exc:
            self.out(f"rejected {path}: {exc}")
            if move:
                _move(path, "rejected", str(exc))
            return
        if move:
            _move(path, "done")
        if wait:
            prog = ingests.wait(client, sub.ingest_id, timeout=defaults.SAMPLE_WAIT_SECONDS)
            self.out(f"ingested {path.name}: {items(sub.stories)}: {outcome_line(prog, len(sub.errors))}")
        else:
            self.out(f"queued {path.name}: {items(sub.stories)} (ingest {sub.ingest_id})")

    def _print_urls(self) -> None:
        base = self.settings.base_url
        self.out(f"\nwirefeed is up: {base}/")
        self.out(f"  all stories:   {base}/feeds/all.atom   (.rss, .json)")
        self.out(f"  cybercrime:    {base}/feeds/cybercrime.atom")
        self.out(f"  every topic:   {base}/topics   OPML: {base}/opml")
        if self.settings.ingest_token:
            token = self.settings.ingest_token
            self.out(f"  ingest API:    POST {base}/api/ingest  (Authorization: Bearer {token})")

    # -- stop --------------------------------------------------------------------
    def stop(self) -> None:
        for _, proc in self.children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + defaults.SUPERVISOR_STOP_TIMEOUT
        for _, proc in self.children:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.children.clear()
        for pump in self._pumps:
            pump.join(2)  # the rest of the children's output
        self._pumps.clear()
        if self.redis_server is not None:
            self.redis_server.stop()
            url_file(self.settings).unlink(missing_ok=True)
            self.redis_server = None
        self.out("wirefeed stopped")


def read_dump(path: Path, max_bytes: int) -> bytes:
    """Read a dump file, refusing one over ``max_bytes`` before reading it."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InputRejected("too-large", f"{path} is {size} bytes, over the limit of {max_bytes}")
    return path.read_bytes()


def _move(path: Path, folder: str, error: str | None = None) -> None:
    target = path.parent / folder
    target.mkdir(exist_ok=True)
    dest = target / f"{time.strftime('%Y%m%dT%H%M%S')}-{path.name}"
    path.rename(dest)
    if error:
        dest.with_suffix(dest.suffix + ".error").write_text(error + "\n")


def generated_token() -> str:
    return secrets.token_urlsafe(24)

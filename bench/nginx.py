"""nginx for scenario 2: a static file server (baseline) and the shipped caching proxy.

Both run as foreground subprocesses (``daemon off``) with their own prefix, pid file, error log
and temp folders in the bench's work folder, on free 127.0.0.1 ports. The proxy's config is
``config/nginx.conf`` itself with only the deployment-specific parts rewritten (the upstream
``web:8080`` becomes our web server's port, ``listen 8080`` a free local port, the cache path a
folder of ours), so the bench measures the proxy the deployment ships.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bench.stack import ROOT, Child, Stack, wait_http
from wirefeed.redis_server import free_port

SHIPPED_CONF = ROOT / "config" / "nginx.conf"

_COMMON = """\
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
"""
_TEMPS = """\
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
"""

STATIC_CONF = """\
worker_processes auto;
events {{ worker_connections 4096; }}

http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    types {{ application/atom+xml atom; application/rss+xml rss; application/feed+json json; }}
{temps}
    server {{
        listen 127.0.0.1:{port};
        location /feeds/ {{
            root {root};
        }}
    }}
}}
"""


def _prefix(stack: Stack, name: str) -> Path:
    prefix = stack.workdir / name
    shutil.rmtree(prefix, ignore_errors=True)
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    # nginx's workers may run as an unprivileged user: let them write temp files and the cache.
    for path in [prefix, *prefix.rglob("*")]:
        if path.is_dir():
            path.chmod(0o777)
    return prefix


def proxy_conf(prefix: Path, port: int, upstream_port: int, source: str | None = None) -> str:
    """``config/nginx.conf`` for a local run; raises if its shape changed (so edits are noticed)."""
    conf = source if source is not None else SHIPPED_CONF.read_text()
    subs = [
        (r"server\s+web:8080;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen\s+8080;", f"listen 127.0.0.1:{port};"),
        (r"proxy_cache_path\s+\S+", f"proxy_cache_path {prefix}/cache"),
        (r"http\s*\{", "http {\n" + _TEMPS.format(prefix=prefix)),
    ]
    for pattern, repl in subs:
        conf, n = re.subn(pattern, repl, conf, count=1)
        if n != 1:
            raise RuntimeError(f"config/nginx.conf changed shape: no match for {pattern!r}")
    return _COMMON.format(prefix=prefix) + conf


def _start(stack: Stack, name: str, prefix: Path, conf: str, port: int) -> Child:
    path = prefix / "nginx.conf"
    path.write_text(conf)
    argv = ["nginx", "-p", str(prefix), "-c", str(path), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
    child = stack.spawn(name, argv)
    wait_http(port, "/", check=stack.check)
    return child


def start_static(stack: Stack, files: dict[str, bytes]) -> int:
    """nginx serving ``files`` (path under /feeds/ -> bytes) as static files; its port."""
    prefix = _prefix(stack, "nginx-static")
    root = prefix / "root"
    for rel, body in files.items():
        path = root / "feeds" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    port = free_port()
    conf = _COMMON.format(prefix=prefix) + STATIC_CONF.format(
        temps=_TEMPS.format(prefix=prefix), port=port, root=root
    )
    _start(stack, "nginx-static", prefix, conf, port)
    return port


def start_proxy(stack: Stack) -> int:
    """The shipped caching proxy (config/nginx.conf) in front of the stack's web server; its port."""
    prefix = _prefix(stack, "nginx-proxy")
    port = free_port()
    _start(stack, "nginx-proxy", prefix, proxy_conf(prefix, port, stack.web_port), port)
    return port

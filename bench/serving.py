"""Scenario 2: feed serving with wrk, 200s and 304s, against four servers in the same run.

- **app**: ``wirefeed serve`` as docker-compose runs it (gunicorn gthread, 2 workers);
- **minimal** (baseline): :mod:`bench.baseline_flask` under the same gunicorn settings;
- **nginx static** (baseline): nginx serving the same bytes from a file;
- **proxy**: the shipped ``config/nginx.conf`` (proxy_cache) in front of the app.

Each server gets the same feed (``/feeds/<topic>.atom``, 50 items) for ``wrk -t2 -c32 -d10s``,
without and with ``If-None-Match`` (its own ETag); the proxy's p99 latency is compared with
nginx static's too. The servers take turns within each run, so
drift of the machine spreads over all of them.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from bench import nginx
from bench.baseline_flask import key as min_key
from bench.client import Http
from bench.gen import generate
from bench.harness import Harness
from bench.report import Row, median
from bench.stack import PY
from wirefeed.redis_server import free_port


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    """Non-2xx/3xx responses plus socket errors."""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    port: int,
    path: str,
    *,
    seconds: int,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        bad += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        bad += sum(int(x) for x in m.groups())
    return WrkResult(rps, p50, p99, requests, bad)


def _check(port: int, path: str, body: bytes) -> str:
    """One GET (must be 200 with ``body``) and one conditional GET (must be 304); the ETag."""
    c = Http(port)
    try:
        first = c.get(path)
        if first.status != 200 or first.body != body:
            raise RuntimeError(f"127.0.0.1:{port}{path}: {first.status}, not the feed's bytes")
        etag = first.headers.get("etag", "")
        second = c.get(path, {"If-None-Match": etag})
        if second.status != 304:
            raise RuntimeError(f"127.0.0.1:{port}{path} with If-None-Match {etag}: {second.status}, not 304")
        return etag
    finally:
        c.close()


def start_minimal(h: Harness) -> int:
    port = free_port()
    argv = [
        PY, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gthread",
        "--workers", str(h.stack.web_workers), "--threads", str(h.settings.web_threads),
        "--bind", f"127.0.0.1:{port}", "bench.baseline_flask:build()",
    ]  # fmt: skip
    h.stack.spawn("minimal-app", argv)
    from bench.stack import wait_http

    wait_http(port, "/feeds/none", check=h.stack.check)
    return port


def run(h: Harness) -> list[Row]:
    plan = h.plan
    h.stack.reset()
    h.ingest(generate(plan.serve_stories, plan.seed + 2))
    path = f"/feeds/{plan.topic}.atom"
    feed = h.web.get(path)
    if feed.status != 200:
        raise RuntimeError(f"{path}: {feed.status}")
    body = feed.body

    h.r.mset(
        {min_key(f"{plan.topic}.atom"): body, min_key(f"{plan.topic}.atom") + ":etag": feed.headers["etag"]}
    )
    servers = {
        "nginx static": nginx.start_static(h.stack, {f"{plan.topic}.atom": body}),
        "minimal": start_minimal(h),
        "app": h.stack.web_port,
        "proxy": nginx.start_proxy(h.stack),
    }
    etags = {name: _check(port, path, body) for name, port in servers.items()}
    h.say(f"scenario 2: {path} is {len(body):,} bytes; every server answers 200 with it and 304 to its ETag")

    results: dict[tuple[str, str], list[WrkResult]] = {}
    try:
        for n in range(plan.runs):
            for name, port in servers.items():
                for kind in ("200", "304"):
                    headers = {"If-None-Match": etags[name]} if kind == "304" else None
                    res = wrk(
                        port, path, seconds=plan.wrk_seconds, connections=plan.wrk_connections,
                        threads=plan.wrk_threads, headers=headers,
                    )  # fmt: skip
                    if res.bad:
                        raise RuntimeError(f"wrk {name} {kind}: {res.bad} bad responses or socket errors")
                    results.setdefault((name, kind), []).append(res)
                    h.say(
                        f"scenario 2 run {n + 1}: {name:12} {kind}: {res.rps:9,.0f} req/s "
                        f"(p50 {res.p50_ms:.2f} ms, p99 {res.p99_ms:.2f} ms)"
                    )
    finally:
        for child in ("nginx-static", "minimal-app", "nginx-proxy"):
            h.stack.stop_child(child)

    def rps(name: str, kind: str) -> list[float]:
        return [r.rps for r in results[(name, kind)]]

    rows = []
    comparisons = (
        ("app", "app as shipped", "minimal", "minimal Flask+gunicorn app", 1.2),
        ("proxy", "shipped nginx proxy_cache + app", "nginx static", "nginx static file", 0.5),
    )
    for server, title, base, base_title, least in comparisons:
        for kind, label in (("200", "200s"), ("304", "304s (If-None-Match)")):
            value, baseline = rps(server, kind), rps(base, kind)
            row = Row(
                "2", f"{title}, {label}", median(value), "req/s",
                baseline=base_title, baseline_value=median(baseline),
                target=f"≥ {least}x", samples=value, baseline_samples=baseline,
            )  # fmt: skip
            row.met = row.ratio is not None and row.ratio >= least
            rows.append(row)
    for kind, label in (("200", "200s"), ("304", "304s (If-None-Match)")):
        p99 = [r.p99_ms for r in results[("proxy", kind)]]
        base = [r.p99_ms for r in results[("nginx static", kind)]]
        row = Row(
            "2", f"shipped nginx proxy_cache + app, {label}: p99 latency", median(p99), "ms",
            baseline="nginx static file, p99", baseline_value=median(base),
            target="≤ 3x", samples=p99, baseline_samples=base,
        )  # fmt: skip
        row.met = row.ratio is not None and row.ratio <= 3
        rows.append(row)
    rows[0].note = (
        f"wrk -t{plan.wrk_threads} -c{plan.wrk_connections} -d{plan.wrk_seconds}s on {path} "
        f"({len(body):,} bytes); app and minimal app: gunicorn gthread, {h.stack.web_workers} workers x "
        f"{h.settings.web_threads} threads (minimal app: no access log, gunicorn's default); p50 latency "
        f"app {median([r.p50_ms for r in results[('app', '200')]]) or 0:.2f} ms, "
        f"minimal {median([r.p50_ms for r in results[('minimal', '200')]]) or 0:.2f} ms"
    )
    return rows

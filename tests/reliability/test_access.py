"""Guarantee 6: access. Against the real web service (gunicorn, ``wirefeed serve``):

- the ingest API is off (403) unless a token is configured; a wrong, partial or misplaced token
  is refused (401); the token is compared with ``hmac.compare_digest`` (constant time);
- a request over the size limit is refused (413) before its body is read in full: the answer
  comes while the client is still sending, with a Content-Length or chunked;
- ingest is rate-limited per client address (429 with Retry-After; another client still gets in);
- the API never takes a server file path: whatever the request says, the body is the dump;
- HTML pages send a strict Content-Security-Policy and the usual security headers, and hold no
  inline script, style or event handler that such a policy would have to allow;
- in docker-compose.yml Redis is not published on a host port and can take a password.
"""

from __future__ import annotations

import http.client
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
import requests

from tests.reliability.conftest import (
    AUTH,
    ROOT,
    TOKEN,
    RedisServer,
    Stack,
    post,
    settings_for,
    wait_for,
    wait_ingest,
)
from tests.reliability.dumps import unique_titles
from tests.reliability.observe import rq_leftovers
from wirefeed.services import api

LIMIT = 100_000
RATE = 3


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RedisServer]]:
    """One Redis, workers and web service for the module (each test starts from no wf:* keys)."""
    tmp = tmp_path_factory.mktemp("access")
    server = RedisServer(tmp / "redis").start()
    stack = Stack(tmp)
    try:
        url = server.url()
        stack.worker(url, "ingest", WIREFEED_BATCH_SIZE="5000")
        stack.worker(url, "categorize")
        _, base = stack.web(url, WIREFEED_MAX_DUMP_BYTES=str(LIMIT), WIREFEED_INGEST_RATE=str(RATE))
        yield base, server
    finally:
        stack.stop_all()
        server.kill()


@pytest.fixture()
def web(service: tuple[str, RedisServer]) -> str:
    base, server = service
    client = server.client()
    wait_for(  # retention runs too: it must not be reading the keys deleted below
        "the previous test's jobs are done",
        lambda: rq_leftovers(client, periodic=True) == {},
        timeout=60,
        explain=lambda: f"left in rq: {rq_leftovers(client, periodic=True)}",
    )
    stale = list(client.scan_iter(match="wf:*", count=1000))
    if stale:
        client.delete(*stale)
    return base


@pytest.fixture()
def redis_server(service: tuple[str, RedisServer]) -> RedisServer:
    return service[1]


def test_the_ingest_api_is_off_without_a_token(web: str, redis_server: RedisServer, stack: Stack) -> None:
    _, base = stack.web(redis_server.url(), WIREFEED_INGEST_TOKEN="")
    for headers in ({}, AUTH, {"Authorization": "Bearer "}):
        resp = requests.post(f"{base}/api/ingest", data=b"A headline\n", headers=headers, timeout=10)
        assert resp.status_code == 403
        assert resp.json()["error"] == "disabled"
    assert requests.get(f"{base}/api/ingest/x", headers=AUTH, timeout=10).status_code == 403
    assert redis_server.client().keys("wf:dump:*") == []


def test_only_the_exact_bearer_token_gets_in(web: str) -> None:
    body = b"A headline about the harbour\n"
    refused = [
        {},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN.upper()}"},
        {"X-Token": TOKEN},
    ]
    for headers in refused:
        resp = requests.post(f"{web}/api/ingest", data=body, headers=headers, timeout=10)
        assert resp.status_code == 401, headers
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    in_query = requests.post(f"{web}/api/ingest?token={TOKEN}", data=body, timeout=10)
    assert in_query.status_code == 401
    assert requests.get(f"{web}/api/ingest/x?token={TOKEN}", timeout=10).status_code == 401
    assert post(web, body).status_code == 202


def test_the_token_is_compared_in_constant_time(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wirefeed.services.app import create_app

    calls: list[tuple[bytes, bytes]] = []
    real = api.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api.hmac, "compare_digest", spy)
    app = create_app(settings_for(redis_server.url()), redis_server.client())
    resp = app.test_client().get("/api/ingest/x", headers={"Authorization": "Bearer guess"})
    assert resp.status_code == 401
    assert calls == [(b"guess", TOKEN.encode())]


def _raw_request(base: str, head: str, chunks: int, chunk: bytes, *, chunked: bool) -> tuple[str, int]:
    """Send ``head`` and then up to ``chunks`` pieces of body, never the end of it; return the
    status line the server answered with and how many body bytes had been sent by then."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sent = 0
    try:
        sock.sendall(head.encode())
        for _ in range(chunks):
            if select.select([sock], [], [], 0)[0]:
                break
            piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return answer.split(b"\r\n", 1)[0].decode(), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_before_it_is_read_in_full(web: str, chunked: bool) -> None:
    declared = 50 * LIMIT
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}"
    head = (
        f"POST /api/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: text/plain\r\n{framing}\r\n\r\n"
    )
    # The body never ends (no last chunk; fewer bytes than declared): a 413 proves the server
    # decided without reading it in full.
    status, sent = _raw_request(web, head, chunks=40, chunk=b"headline line\n" * 1000, chunked=chunked)
    assert status.split(" ")[1] == "413", status
    assert sent < declared


def _lines(n: int, seed: int) -> list[bytes]:
    return [f"{title}\n-\n".encode() for title in unique_titles(n, seed=seed)]


def test_a_streamed_dump_over_the_limit_is_refused_not_cut(web: str, redis_server: RedisServer) -> None:
    """A chunked body has no Content-Length to check first: it is read up to the limit, and
    refused if more follows (never accepted cut at the limit, with its tail lost)."""
    over = _lines(3000, seed=71)
    assert sum(map(len, over)) > LIMIT
    resp = requests.post(f"{web}/api/ingest", data=iter(over), headers=AUTH, timeout=30)
    assert resp.status_code == 413, resp.text[:300]
    assert redis_server.client().keys("wf:ingest:*") == []

    under = _lines(3000, seed=72)
    while sum(map(len, under)) > LIMIT:
        under.pop()
    status = wait_ingest(web, requests.post(f"{web}/api/ingest", data=iter(under), headers=AUTH, timeout=30))
    assert status["new"] == len(under)


def test_ingest_is_rate_limited_per_client(web: str, redis_server: RedisServer) -> None:
    window = 60
    left = window - time.time() % window
    if left < 10:  # fixed windows: keep the whole test inside one
        time.sleep(left + 0.1)
    for n in range(RATE):
        assert post(web, f"Rate limited headline number {n} about the harbour\n".encode()).status_code == 202
    ingests = set(redis_server.client().keys("wf:ingest:*"))
    limited = post(web, b"One headline too many about the harbour\n")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= window
    assert limited.json()["error"] == "rate-limited"
    assert set(redis_server.client().keys("wf:ingest:*")) == ingests  # nothing stored for it

    # Another client (another loopback address) is not limited by the first one's requests.
    host, port = web.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=("127.0.0.2", 0))
    conn.request("POST", "/api/ingest", body=b"Another client's headline about the harbour\n", headers=AUTH)
    assert conn.getresponse().status == 202
    conn.close()


def test_the_api_never_reads_a_server_file(web: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET harbour plans\n")
    attempts = [
        post(web, str(secret).encode()),
        post(web, b"file:///etc/passwd"),
        requests.post(
            f"{web}/api/ingest?path={secret}&file={secret}",
            data=b"Plain headline about the harbour\n",
            headers={**AUTH, "X-File": str(secret)},
            timeout=10,
        ),
    ]
    for resp in attempts:
        wait_ingest(web, resp)
    titles = [i["title"] for i in requests.get(f"{web}/feeds/all.json", timeout=10).json()["items"]]
    assert sorted(titles) == sorted([str(secret), "file:///etc/passwd", "Plain headline about the harbour"])
    assert not any("SECRET" in t or "root:" in t for t in titles)


CSP_REQUIRED = {
    "default-src": "'none'",
    "script-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}


def test_html_pages_send_a_strict_csp_and_security_headers(web: str) -> None:
    wait_ingest(web, post(web, b"Security headline about the harbour\n"))
    story = requests.get(f"{web}/feeds/all.json", timeout=10).json()["items"][0]["url"]
    story_path = "/stories/" + story.rsplit("/", 1)[1]
    for path in ("/", "/topics/politics", story_path):
        resp = requests.get(web + path, timeout=10)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"].startswith("text/html")
        csp = dict(
            [*d.split(" ", 1), ""][:2]
            for d in (x.strip() for x in resp.headers["Content-Security-Policy"].split(";"))
        )
        for directive, value in CSP_REQUIRED.items():
            assert csp.get(directive) == value, (path, directive, csp)
        assert not re.search(r"unsafe-|\*|data:|http:", resp.headers["Content-Security-Policy"])
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        doc = lxml.html.fromstring(resp.content)
        assert not [s for s in doc.iter("script") if not s.get("src")], f"inline script on {path}"
        assert not list(doc.iter("style")), f"inline <style> on {path}"
        for el in doc.iter():
            attrs = [a for a in el.attrib if a.lower().startswith("on") or a.lower() == "style"]
            assert not attrs, f"{attrs} on <{el.tag}> of {path}"
    for path in ("/feeds/all.atom", "/topics", "/opml", "/healthz"):
        assert requests.get(web + path, timeout=10).headers["X-Content-Type-Options"] == "nosniff", path


def _compose_service(text: str, name: str) -> str:
    """The lines of one service of docker-compose.yml (up to the next top-level service)."""
    m = re.search(rf"^  {name}:\n((?:    .*\n|\s*\n)*)", text, re.MULTILINE)
    assert m, f"no service {name!r} in docker-compose.yml"
    return m.group(1)


def test_docker_compose_keeps_redis_private_and_can_protect_it_with_a_password() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    redis_service = _compose_service(text, "redis")
    assert not re.search(r"^\s+ports:", redis_service, re.MULTILINE), "redis is published on a host port"
    assert "--requirepass" in redis_service and "REDIS_PASSWORD" in redis_service
    assert "appendonly yes" in redis_service and "noeviction" in redis_service
    assert re.search(r"REDIS_URL: redis://:\$\{REDIS_PASSWORD[^}]*\}@redis:6379", text)

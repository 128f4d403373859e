"""Rate limits of the ingest API behind the shipped proxy, and against token guessing.

Real app, real Redis, over real HTTP (a werkzeug server on 127.0.0.1 with the settings under
test); ``X-Forwarded-For`` is what nginx adds in front (``config/nginx.conf``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
import requests
from werkzeug.serving import make_server

from tests.helpers import AUTH
from wirefeed.config.settings import Settings
from wirefeed.redis_server import free_port
from wirefeed.services.app import create_app

DUMP = b"A headline about the harbour council\n"
WRONG = {"Authorization": "Bearer not-the-token"}


@contextmanager
def serving(settings: Settings, client: redis.Redis) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, create_app(settings, client), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def post(base: str, headers: dict[str, str], forwarded_for: str | None = None) -> requests.Response:
    if forwarded_for is not None:
        headers = {**headers, "X-Forwarded-For": forwarded_for}
    return requests.post(f"{base}/api/ingest", data=DUMP, headers=headers, timeout=10)


def test_behind_one_proxy_each_client_has_its_own_bucket(settings: Settings, client: redis.Redis) -> None:
    with serving(settings.with_(proxy_hops=1, ingest_rate=2), client) as base:
        # nginx appends the address it saw: whatever a client puts first is not trusted
        assert [post(base, AUTH, "9.9.9.9, 203.0.113.1").status_code for _ in range(3)] == [202, 202, 429]
        assert post(base, AUTH, "1.2.3.4, 203.0.113.1").status_code == 429  # a spoofed first hop
        assert post(base, AUTH, "203.0.113.2").status_code == 202  # another client is not blocked


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings: Settings, client: redis.Redis) -> None:
    assert settings.proxy_hops == 0 == Settings().proxy_hops  # the default trusts no header
    with serving(settings.with_(ingest_rate=2), client) as base:
        codes = [post(base, AUTH, f"198.51.100.{i}").status_code for i in range(3)]
        assert codes == [202, 202, 429]  # a new made-up address each time does not escape


def test_failed_authentications_are_rate_limited_per_client(settings: Settings, client: redis.Redis) -> None:
    with serving(settings.with_(proxy_hops=1, auth_fail_rate=3), client) as base:
        assert [post(base, WRONG, "203.0.113.7").status_code for _ in range(3)] == [401, 401, 401]
        locked = post(base, WRONG, "203.0.113.7")
        assert locked.status_code == 429
        assert locked.json()["error"] == "rate-limited"
        assert int(locked.headers["Retry-After"]) >= 1
        # Even the right token is not confirmed to a client that was guessing ...
        assert post(base, AUTH, "203.0.113.7").status_code == 429
        # ... while another client is served.
        assert post(base, AUTH, "203.0.113.8").status_code == 202
        assert post(base, WRONG, "203.0.113.8").status_code == 401


def test_proxy_settings_come_from_the_environment() -> None:
    s = Settings.from_env({"WIREFEED_PROXY_HOPS": "1", "WIREFEED_AUTH_FAIL_RATE": "5"})
    assert (s.proxy_hops, s.auth_fail_rate) == (1, 5)
    with pytest.raises(Exception, match="PROXY_HOPS"):
        Settings.from_env({"WIREFEED_PROXY_HOPS": "-1"})

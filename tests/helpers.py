"""Small helpers shared by the end-to-end tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from typing import Any

import requests

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post_dump(base: str, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{base}/api/ingest", data=body, headers={**AUTH, **(headers or {})}, timeout=30)


def wait_done(base: str, resp: requests.Response, timeout: float = 60) -> dict[str, Any]:
    """Poll an accepted ingest's status URL until it is done; return the final status."""
    assert resp.status_code == 202, resp.text
    url = base + resp.json()["status_url"]
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = requests.get(url, headers=AUTH, timeout=10)
        if got.status_code == 429:  # e.g. another test's failed logins from this address: wait, as asked
            time.sleep(min(float(got.headers.get("Retry-After", "1")), 5.0))
            continue
        assert got.status_code == 200, f"{got.status_code} {got.text}"
        status = got.json()
        if status["state"] == "done":
            return status
        time.sleep(0.05)
    raise AssertionError(f"ingest not done after {timeout} s: {status}")


def ingest(base: str, body: bytes) -> dict[str, Any]:
    return wait_done(base, post_dump(base, body))


_VOCAB = [
    "harbour",
    "council",
    "river",
    "summit",
    "vaccine",
    "orchestra",
    "glacier",
    "tariff",
    "senator",
    "striker",
    "museum",
    "drought",
    "satellite",
    "bakery",
    "election",
    "refinery",
    "volcano",
    "pilot",
    "festival",
    "reactor",
    "canal",
    "cathedral",
    "merger",
    "telescope",
    "referendum",
    "marathon",
    "pipeline",
    "vineyard",
    "ferry",
    "court",
    "theatre",
    "bridge",
    "airline",
    "clinic",
    "archive",
    "stadium",
    "railway",
    "forest",
    "tunnel",
    "laboratory",
    "parliament",
    "quarry",
    "novel",
    "harvest",
    "regatta",
    "embassy",
    "factory",
    "monsoon",
    "lighthouse",
    "opera",
    "prison",
    "startup",
    "coral",
    "mayor",
    "drone",
    "tournament",
]


def distinct_headlines(n: int, seed: int = 0) -> list[str]:
    """``n`` headlines with little wording in common (so none is taken for a version of another)."""
    return list(itertools.islice(headline_stream(seed), n))


def headline_stream(seed: int = 0) -> Iterator[str]:
    """Endless :func:`distinct_headlines` (its first ``n`` are ``distinct_headlines(n, seed)``)."""
    rng = random.Random(seed)
    for i in itertools.count():
        yield f"{' '.join(rng.sample(_VOCAB, 5))} report {i}"

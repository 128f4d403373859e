"""The optional system packages some tests drive (real clients: chromium + chromedriver, newsboat,
wrk, prometheus): one place that decides what a test does when one is missing.

On a fresh machine such a test is skipped with one line naming what to install; with
``WIREFEED_REQUIRE_CLIENTS=1`` (``.ci/run`` sets it) it fails instead, so CI never passes by
skipping them.
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = {
    "chromium": "apt-get install -y chromium chromium-driver",
    "chromedriver": "apt-get install -y chromium chromium-driver",
    "newsboat": "apt-get install -y newsboat",
    "wrk": "apt-get install -y wrk",
    "prometheus": "apt-get install -y prometheus",
    "promtool": "apt-get install -y prometheus",
    "redis-server": "apt-get install -y redis-server",
}
"""How to install each optional client (Debian packages)."""


def required() -> bool:
    """Whether missing clients fail the tests (``WIREFEED_REQUIRE_CLIENTS=1``) instead of skipping them."""
    return os.environ.get("WIREFEED_REQUIRE_CLIENTS", "") == "1"


def missing(what: str, install: str) -> None:
    """Skip (or, when clients are required, fail) the running test: ``what`` is not installed."""
    message = f"not installed: {what}; {install}"
    if required():
        pytest.fail(f"{message} (WIREFEED_REQUIRE_CLIENTS=1)", pytrace=False)
    pytest.skip(message)


def binary(name: str, *fallbacks: str) -> str:
    """The path of the client ``name`` (on PATH, else the first executable of ``fallbacks``);
    skips or fails the test when there is none."""
    found = shutil.which(name) or next((p for p in fallbacks if os.access(p, os.X_OK)), None)
    if found is None:
        missing(name, INSTALL.get(name, f"install {name}"))
    assert found is not None
    return found

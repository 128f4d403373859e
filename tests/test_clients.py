"""The one rule for tests that need optional system packages (``tests/clients.py``): skipped with
one line saying what to install, failed instead under ``WIREFEED_REQUIRE_CLIENTS=1``."""

from __future__ import annotations

import pytest

from tests import clients


def test_a_missing_client_skips_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIREFEED_REQUIRE_CLIENTS", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"^not installed: newsboat; apt-get install -y newsboat$"
    ):
        clients.missing("newsboat", clients.INSTALL["newsboat"])


def test_a_missing_client_fails_when_clients_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_REQUIRE_CLIENTS", "1")
    with pytest.raises(pytest.fail.Exception, match="not installed: no-such-client-xyz"):
        clients.binary("no-such-client-xyz")


def test_a_present_client_is_found() -> None:
    assert clients.binary("sh").endswith("/sh")

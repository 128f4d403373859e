"""Bad input through the API and the CLI: the documented status, a message naming the reason,
and what was valid in the same dump kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers import AUTH, ingest, post_dump, wait_done
from wirefeed.config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("client", "workers")


def test_ingest_without_a_valid_token_is_401(live_server: str) -> None:
    resp = requests.post(f"{live_server}/api/ingest", data=b"Headline\n", timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = requests.post(
        f"{live_server}/api/ingest", data=b"Headline\n", headers={"Authorization": "Bearer wrong"}, timeout=10
    )
    assert wrong.status_code == 401


def test_dump_over_the_size_limit_is_413(live_server: str, settings: Settings) -> None:
    resp = post_dump(live_server, b"x" * (settings.max_dump_bytes + 1))
    assert resp.status_code == 413
    assert resp.json()["error"] == "too-large"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"-\n-\n\n-\n", "empty"),
        (b"Headline one\n-\nbad \x00 byte\n", "binary"),
        (b"Caf\xe9 society\n", "binary"),
    ],
)
def test_unparseable_dump_is_400_naming_the_reason(live_server: str, body: bytes, reason: str) -> None:
    resp = post_dump(live_server, body)
    assert resp.status_code == 400
    assert resp.json()["error"] == reason
    assert reason in resp.json()["message"]


def test_a_bad_item_is_rejected_and_the_good_ones_are_kept(live_server: str) -> None:
    dump = (
        b"First good headline about the markets\n-\n"
        b"- Orphan subhead -\nA paragraph with no title, which is long enough to be body text for sure.\n"
        b"J.Doe--XYZ\n-\nSecond good headline about football\n"
    )
    resp = post_dump(live_server, dump)
    assert resp.status_code == 202
    rejected = resp.json()["rejected"]
    assert [r["reason"] for r in rejected] == ["no-title"]
    assert rejected[0]["line"] == 3
    status = wait_done(live_server, resp)
    assert status["new"] == 2
    titles = [i["title"] for i in requests.get(f"{live_server}/feeds/all.json", timeout=10).json()["items"]]
    assert titles == ["First good headline about the markets", "Second good headline about football"]


def test_control_characters_never_reach_the_feeds(live_server: str) -> None:
    ingest(live_server, b"Bell \x07 and escape \x1b in a headline\n")
    body = requests.get(f"{live_server}/feeds/all.atom", timeout=10).content
    assert b"Bell  and escape  in a headline" in body or b"Bell and escape in a headline" in body
    assert b"\x07" not in body and b"\x1b" not in body


def test_ingest_status_of_an_unknown_id_is_404(live_server: str) -> None:
    assert requests.get(f"{live_server}/api/ingest/nope", headers=AUTH, timeout=10).status_code == 404


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": settings.redis_url or "", "WIREFEED_BASE_URL": settings.base_url}
    return subprocess.run(
        [sys.executable, "-m", "wirefeed", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_cli_ingest_wait_prints_new_then_unchanged_counts(settings: Settings) -> None:
    sample = str(ROOT / "sample" / "wire-sample.txt")
    first = _cli(settings, "ingest", sample, "--wait")
    assert first.returncode == 0, first.stderr
    assert "48 new, 0 updated, 0 unchanged" in first.stdout
    second = _cli(settings, "ingest", sample, "--wait")
    assert "0 new, 0 updated, 48 unchanged" in second.stdout


def test_cli_rejects_a_binary_file_with_exit_2_and_keeps_going(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02 binary")
    good = tmp_path / "good.txt"
    good.write_text("A fine headline about science\n")
    out = _cli(settings, "ingest", str(bad), str(good), "--wait")
    assert out.returncode == 2
    assert "binary" in out.stderr
    assert "1 new" in out.stdout


def test_cli_rejects_a_missing_file(settings: Settings, tmp_path: Path) -> None:
    out = _cli(settings, "ingest", str(tmp_path / "nope.txt"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr

"""newsboat, a real terminal feed reader, subscribes to the cybercrime feed and shows the article.

newsboat runs non-interactively (``-x reload``) with its own config, URL list and cache in a
temp folder; its SQLite cache then holds what a reader would see. CI installs newsboat (Debian);
without it the test is skipped (see ``tests/clients.py``).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests import clients
from tests.helpers import ingest

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"
ARTICLE = "UN members to sign cybercrime treaty opposed by rights groups"

pytestmark = pytest.mark.usefixtures("client", "workers")


def _reload(tmp_path: Path, url: str) -> list[tuple[str, str, str, str]]:
    binary = clients.binary("newsboat")
    (tmp_path / "urls").write_text(url + "\n")
    (tmp_path / "config").write_text("")
    cache = tmp_path / "cache.db"
    subprocess.run(
        [
            binary,
            "-u",
            str(tmp_path / "urls"),
            "-c",
            str(cache),
            "-C",
            str(tmp_path / "config"),
            "-x",
            "reload",
        ],
        check=True,
        capture_output=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    with sqlite3.connect(cache) as db:
        return db.execute("SELECT guid, title, author, content FROM rss_item ORDER BY id").fetchall()


def test_newsboat_subscribes_to_the_cybercrime_feed_and_shows_the_article(
    live_server: str, tmp_path: Path
) -> None:
    clients.binary("newsboat")  # before any work
    ingest(live_server, SAMPLE.read_bytes())
    items = _reload(tmp_path, f"{live_server}/feeds/cybercrime.atom")
    [article] = [i for i in items if i[1] == ARTICLE]
    guid, _, author, content = article
    assert guid.startswith("tag:")
    assert author == "B.Shevchenko"
    assert "Budapest Convention on Cybercrime" in content and "Tech sector" in content
    # A second reload after re-ingesting shows nothing twice.
    ingest(live_server, SAMPLE.read_bytes())
    again = _reload(tmp_path, f"{live_server}/feeds/cybercrime.atom")
    assert len(again) == len(items) == len({i[0] for i in again})

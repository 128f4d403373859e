"""What subscribers and pollers rely on, against the real service: story updates keep their id,
lossless catch-up with ``since`` cursors and RFC 5005 archives, combined and filtered feeds,
content negotiation, gzip, WebSub discovery links."""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
from pathlib import Path

import feedparser
import pytest
import requests
from lxml import etree

from tests.helpers import distinct_headlines, ingest
from wirefeed.config.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"
ATOM = "{http://www.w3.org/2005/Atom}"

pytestmark = pytest.mark.usefixtures("client", "workers")


def get(base: str, path: str, **headers: str) -> requests.Response:
    return requests.get(base + path, headers=headers, timeout=10)


def json_items(base: str, path: str) -> list[dict]:
    return json.loads(get(base, path).content)["items"]


# -- 1. story updates keep their identity ---------------------------------------------


def test_each_resent_pair_shows_once_with_the_newer_text(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    titles = [i["title"] for i in json_items(live_server, "/feeds/all.json?limit=200")]
    assert "Gaza health officials say strikes kill 24 after Israel says officer wounded" in titles
    assert not any("strikes kill 23" in t for t in titles)
    assert sum("minerals trade zone" in t for t in titles) == 1
    assert sum("nuclear pact" in t for t in titles) == 1
    assert len(titles) == len(set(titles)) == 48


def test_a_resend_with_a_changed_figure_updates_the_story_in_place(live_server: str) -> None:
    ingest(live_server, b"Flood waters force 1,200 people from homes in river valley towns\n")
    [before] = json_items(live_server, "/feeds/all.json")
    time.sleep(0.01)
    status = ingest(live_server, b"Flood waters force 1,500 people from homes in river valley towns\n")
    assert (status["new"], status["updated"]) == (0, 1)
    [after] = json_items(live_server, "/feeds/all.json")
    assert after["id"] == before["id"]
    assert after["title"].startswith("Flood waters force 1,500")
    assert after["date_published"] == before["date_published"]
    assert after["date_modified"] > before["date_modified"]
    atom = feedparser.parse(get(live_server, "/feeds/all.atom").content)
    [entry] = atom.entries
    assert entry.id == before["id"] and entry.updated > entry.published  # RFC 3339, same offset
    # The older text sent again later changes nothing.
    again = ingest(live_server, b"Flood waters force 1,200 people from homes in river valley towns\n")
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_reader_library_shows_each_sample_story_once_after_two_ingests(live_server: str) -> None:
    from reader import make_reader

    reader = make_reader(":memory:")
    url = f"{live_server}/feeds/all.atom"
    reader.add_feed(url)
    ingest(live_server, SAMPLE.read_bytes())
    reader.update_feeds()
    ingest(live_server, SAMPLE.read_bytes())
    reader.update_feeds()
    titles = [e.title for e in reader.get_entries()]
    reader.close()
    assert len(titles) == len(set(titles)) == 48
    assert "Gaza health officials say strikes kill 24 after Israel says officer wounded" in titles


# -- 2. lossless catch-up ---------------------------------------------------------------


def _bursts(total: int, burst: int) -> list[bytes]:
    """Dumps of distinct headlines; every third dump also resends an earlier title reworded (an
    added qualifier, which identity takes as the same story; ``latest`` would mark a new one)."""
    heads = distinct_headlines(total, seed=7)
    dumps = []
    for start in range(0, total, burst):
        lines = heads[start : start + burst]
        if start and (start // burst) % 3 == 0:
            lines = [heads[start - 5].replace(" report ", " detailed report "), *lines]
        dumps.append("\n-\n".join(lines).encode())
    return dumps


def test_pollers_and_archive_walkers_see_every_story_exactly_once(live_server: str) -> None:
    seen: dict[str, list[str]] = {}  # id -> date_modified values in the order they arrived
    cursor = 0
    stop = threading.Event()
    rng = random.Random(3)

    def poll_once() -> None:
        nonlocal cursor
        while True:
            doc = json.loads(get(live_server, f"/feeds/all.json?since={cursor}&limit=100").content)
            for item in doc["items"]:
                seen.setdefault(item["id"], []).append(item["date_modified"])
            cursor = doc["_wirefeed"]["cursor"]
            if "next_url" not in doc:
                return

    def poller() -> None:
        while not stop.is_set():
            poll_once()
            time.sleep(rng.uniform(0, 0.2))

    thread = threading.Thread(target=poller)
    thread.start()
    dumps = _bursts(1000, 100)
    for dump in dumps:
        ingest(live_server, dump)
        time.sleep(rng.uniform(0, 0.1))
    stop.set()
    thread.join()
    poll_once()

    all_items = json_items(live_server, "/feeds/all.json?limit=200")  # (only to name the current versions)
    assert all(len(set(v)) == len(v) for v in seen.values()), "a change was delivered twice"
    assert all(v == sorted(v) for v in seen.values()), "an older version arrived after a newer one"
    assert len(seen) == 1000
    assert sum(len(v) - 1 for v in seen.values()) == 3  # the three reworded resends came as updates
    newest = {i["id"]: i["date_modified"] for i in all_items}
    assert all(seen[i][-1] == m for i, m in newest.items())

    # The archive walker: current feed, then prev-archive links back to the first page.
    walked: dict[str, set[str]] = {}
    url = f"{live_server}/feeds/all.atom"
    pages = 0
    while url:
        root = etree.fromstring(requests.get(url, timeout=10).content)
        for entry in root.iter(f"{ATOM}entry"):
            walked.setdefault(entry.findtext(f"{ATOM}id"), set()).add(entry.findtext(f"{ATOM}updated"))
        prev = root.find(f"{ATOM}link[@rel='prev-archive']")
        url = prev.get("href") if prev is not None else None
        pages += 1
        assert pages < 100
    assert set(walked) == set(seen)
    assert pages >= 20


def test_archive_pages_are_cached_with_revalidation_and_chain(live_server: str, settings: Settings) -> None:
    ingest(live_server, "\n-\n".join(distinct_headlines(120, seed=11)).encode())
    current = etree.fromstring(get(live_server, "/feeds/all.atom").content)
    prev = current.find(f"{ATOM}link[@rel='prev-archive']").get("href")
    assert prev.endswith("/feeds/all/archive/2.atom")
    page2 = requests.get(prev, timeout=10)
    assert b"<fh:archive" in page2.content or b"archive xmlns" in page2.content
    page1 = get(live_server, "/feeds/all/archive/1.atom")
    # Full pages change only when a story of theirs is withdrawn: a bounded max-age, then the ETag.
    assert page1.headers["Cache-Control"] == f"public, max-age={settings.archive_max_age}"
    assert (
        requests.get(
            f"{live_server}/feeds/all/archive/1.atom",
            headers={"If-None-Match": page1.headers["ETag"]},
            timeout=10,
        ).status_code
        == 304
    )
    root1 = etree.fromstring(page1.content)
    assert root1.find(f"{ATOM}link[@rel='prev-archive']") is None
    assert root1.find(f"{ATOM}link[@rel='next-archive']").get("href").endswith("/archive/2.atom")
    assert len(root1.findall(f"{ATOM}entry")) == 50
    assert get(live_server, "/feeds/all/archive/3.atom").status_code == 404
    rss1 = etree.fromstring(get(live_server, "/feeds/all/archive/1.rss").content)
    assert rss1.find("channel/{http://purl.org/syndication/history/1.0}archive") is not None
    assert feedparser.parse(page1.content).bozo == 0


def test_since_pages_are_final_once_full(live_server: str, settings: Settings) -> None:
    ingest(live_server, "\n-\n".join(distinct_headlines(30, seed=5)).encode())
    full = get(live_server, "/feeds/all.json?since=0&limit=10")
    doc = full.json()
    assert len(doc["items"]) == 10 and doc["_wirefeed"]["cursor"] == 10
    assert doc["next_url"].endswith("?since=10&limit=10")
    assert full.headers["Cache-Control"] == f"public, max-age={settings.archive_max_age}"
    tail = get(live_server, "/feeds/all.json?since=25&limit=10").json()
    assert len(tail["items"]) == 5 and "next_url" not in tail
    for bad in ("/feeds/all.atom?since=1", "/feeds/all+world.json?since=1", "/feeds/all.json?since=x"):
        assert get(live_server, bad).status_code == 400


# -- 4. combined and filtered feeds ------------------------------------------------------


def test_combined_feed_holds_each_story_of_either_topic_once(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    sports = {i["id"] for i in json_items(live_server, "/feeds/sports.json?limit=200")}
    health = {i["id"] for i in json_items(live_server, "/feeds/health.json?limit=200")}
    both = [i["id"] for i in json_items(live_server, "/feeds/sports+health.json?limit=200")]
    assert len(both) == len(set(both))
    assert set(both) == sports | health
    assert (
        get(live_server, "/feeds/health+sports.json?limit=200").json()["items"]
        == get(live_server, "/feeds/sports+health.json?limit=200").json()["items"]
    )
    assert get(live_server, "/feeds/sports+nosuch.atom").status_code == 404
    assert feedparser.parse(get(live_server, "/feeds/sports+health.atom").content).bozo == 0


def test_filters_q_exclude_kind_and_limit(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    q = json_items(live_server, "/feeds/all.json?q=nuclear")
    assert q and all("nuclear" in (i["title"] + i["content_html"]).lower() for i in q)
    articles = json_items(live_server, "/feeds/all.json?kind=article")
    assert [i["title"] for i in articles] == ["UN members to sign cybercrime treaty opposed by rights groups"]
    no_sports = json_items(live_server, "/feeds/all.json?exclude=sports&limit=200")
    assert no_sports and all("sports" not in i["tags"] for i in no_sports)
    assert len(json_items(live_server, "/feeds/world.json?limit=3")) == 3
    for bad in ("kind=video", "exclude=nosuch", "limit=0", "colour=red", "format=xml"):
        assert get(live_server, f"/feeds/all.json?{bad}").status_code == 400, bad


def test_conditional_get_holds_for_filtered_feeds(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    first = get(live_server, "/feeds/sports+health.atom?q=olympic")
    assert first.status_code == 200
    again = get(
        live_server, "/feeds/sports+health.atom?q=olympic", **{"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    ingest(live_server, b"Olympic sprint champion tests positive for banned stimulant\n")
    changed = get(
        live_server, "/feeds/sports+health.atom?q=olympic", **{"If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert b"banned stimulant" in changed.content


def test_accept_header_and_format_parameter_pick_the_format(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    rss = get(live_server, "/feeds/world", Accept="application/rss+xml")
    assert rss.headers["Content-Type"].startswith("application/rss+xml")
    assert "Accept" in rss.headers["Vary"]
    js = get(live_server, "/feeds/world", Accept="application/feed+json, */*;q=0.1")
    assert js.headers["Content-Type"].startswith("application/feed+json")
    assert get(live_server, "/feeds/world").headers["Content-Type"].startswith("application/atom+xml")
    assert (
        get(live_server, "/feeds/world?format=json")
        .headers["Content-Type"]
        .startswith("application/feed+json")
    )
    assert get(live_server, "/feeds/world.atom?format=rss").status_code == 400


def test_gzip_when_asked_with_its_own_etag_and_vary(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    raw = requests.get(
        f"{live_server}/feeds/cybercrime.atom", headers={"Accept-Encoding": "identity"}, timeout=10
    )
    gz = requests.get(
        f"{live_server}/feeds/cybercrime.atom", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True
    )
    body = gz.raw.read()
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == raw.content
    assert gz.headers["ETag"] != raw.headers["ETag"]
    assert "Accept-Encoding" in gz.headers["Vary"] and "Accept-Encoding" in raw.headers["Vary"]
    assert (
        get(
            live_server,
            "/feeds/cybercrime.atom",
            **{"If-None-Match": gz.headers["ETag"], "Accept-Encoding": "gzip"},
        ).status_code
        == 304
    )


# -- 3. WebSub discovery ---------------------------------------------------------------


def test_every_feed_advertises_its_hub_and_self(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    for fmt in ("atom", "rss", "json"):
        resp = get(live_server, f"/feeds/world.{fmt}")
        link = resp.headers["Link"]
        assert f'<{live_server}/websub>; rel="hub"' in link
        assert f'<{live_server}/feeds/world.{fmt}>; rel="self"' in link
    atom = etree.fromstring(get(live_server, "/feeds/world.atom").content)
    assert atom.find(f"{ATOM}link[@rel='hub']").get("href") == f"{live_server}/websub"
    rss = etree.fromstring(get(live_server, "/feeds/world.rss").content)
    assert rss.find(f"channel/{ATOM}link[@rel='hub']").get("href") == f"{live_server}/websub"
    assert get(live_server, "/feeds/world.json").json()["hubs"] == [
        {"type": "WebSub", "url": f"{live_server}/websub"}
    ]


def test_story_page_lists_the_revisions_of_an_updated_story(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    [item] = [i for i in json_items(live_server, "/feeds/all.json?limit=200") if "strikes kill" in i["title"]]
    page = requests.get(item["url"], timeout=10).text
    assert "strikes kill 24" in page.split("<h2>Revisions</h2>")[0]
    assert (
        "Gaza health officials say strikes kill 23 after Israel says shots wounded officer"
        in page.split("<h2>Revisions</h2>")[1]
    )

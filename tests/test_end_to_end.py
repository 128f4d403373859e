"""The whole pipeline against real parts: the sample dump posted over HTTP, ingested by real rq
workers into a real Redis, and read back as feeds by real consumers (feedparser, reader)."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
import requests
from lxml import etree

from tests.helpers import distinct_headlines, ingest

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"
ARTICLE = "UN members to sign cybercrime treaty opposed by rights groups"

pytestmark = pytest.mark.usefixtures("client", "workers")


@pytest.fixture()
def ingested(live_server: str) -> dict:
    return ingest(live_server, SAMPLE.read_bytes())


def fetch(base: str, path: str, **headers: str) -> requests.Response:
    return requests.get(base + path, headers=headers, timeout=10)


SAMPLE_STORIES = 48
"""51 items in the sample, of which three pairs are versions of one story (items 2/40, 22/37,
26/35): 48 stories, each pair shown once with its newer text."""


def test_sample_ingest_counts_every_story_as_new(ingested: dict) -> None:
    assert ingested["new"] == SAMPLE_STORIES
    assert ingested["unchanged"] == 0
    assert ingested["rejected"] == []


def _article_from_feed(body: bytes, fmt: str) -> tuple[str, str, str]:
    """(content HTML, author, id) of the treaty article, read as a feed consumer reads it.

    feedparser reads RSS and Atom (and must find nothing malformed); it does not read JSON Feed,
    which is checked as JSON against the JSON Feed 1.1 fields.
    """
    if fmt == "json":
        doc = json.loads(body)
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
        [item] = [i for i in doc["items"] if i["title"] == ARTICLE]
        return item["content_html"], item["authors"][0]["name"], item["id"]
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    [entry] = [e for e in parsed.entries if e.title == ARTICLE]
    return entry.content[0].value, entry.author, entry.id


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_cybercrime_feed_carries_the_treaty_article_in_full(
    live_server: str, ingested: dict, fmt: str
) -> None:
    resp = fetch(live_server, f"/feeds/cybercrime.{fmt}")
    assert resp.status_code == 200
    content, author, guid = _article_from_feed(resp.content, fmt)
    assert len(etree.HTML(content).xpath("//p")) == 26
    assert len(etree.HTML(content).xpath("//h3")) == 2
    assert "Weak" in content and "Tech sector" in content
    assert author == "B.Shevchenko"
    assert guid.startswith("tag:")


def test_feeds_are_valid_xml_with_self_links_and_stable_guids(live_server: str, ingested: dict) -> None:
    rss = etree.fromstring(fetch(live_server, "/feeds/all.rss").content)
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    assert rss.xpath("/rss/channel/atom:link[@rel='self']/@href", namespaces=ns) == [
        f"{live_server}/feeds/all.rss"
    ]
    guids = rss.xpath("//item/guid")
    assert len(guids) == SAMPLE_STORIES
    assert all(g.get("isPermaLink") == "false" and g.text.startswith("tag:") for g in guids)
    atom = etree.fromstring(fetch(live_server, "/feeds/all.atom").content)
    assert atom.xpath("/atom:feed/atom:link[@rel='self']/@href", namespaces=ns) == [
        f"{live_server}/feeds/all.atom"
    ]


def test_feed_order_follows_the_dump(live_server: str, ingested: dict) -> None:
    items = json.loads(fetch(live_server, "/feeds/all.json?limit=60").content)["items"]
    titles = [i["title"] for i in items]
    assert len(titles) == SAMPLE_STORIES
    assert titles[0].startswith("Iran says US talks are on")
    assert titles[-1] == ARTICLE


def test_reingesting_the_sample_changes_no_feed(live_server: str, ingested: dict) -> None:
    paths = [
        f"/feeds/{slug}.{fmt}" for slug in ("all", "cybercrime", "sports") for fmt in ("atom", "rss", "json")
    ]
    before = {p: fetch(live_server, p) for p in paths}
    again = ingest(live_server, SAMPLE.read_bytes())
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, SAMPLE_STORIES)
    for p in paths:
        after = fetch(live_server, p)
        assert after.headers["ETag"] == before[p].headers["ETag"], p
        assert after.content == before[p].content, p


def test_conditional_get_answers_304_to_etag_and_last_modified(live_server: str, ingested: dict) -> None:
    first = fetch(live_server, "/feeds/world.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert "max-age=" in first.headers["Cache-Control"]
    assert fetch(live_server, "/feeds/world.atom", **{"If-None-Match": etag}).status_code == 304
    assert (
        fetch(live_server, "/feeds/world.atom", **{"If-None-Match": f'"nope", W/{etag}'}).status_code == 304
    )
    assert fetch(live_server, "/feeds/world.atom", **{"If-Modified-Since": modified}).status_code == 304
    assert fetch(live_server, "/feeds/world.atom", **{"If-None-Match": '"other"'}).status_code == 200
    old = "Thu, 01 Jan 2015 00:00:00 GMT"
    assert fetch(live_server, "/feeds/world.atom", **{"If-Modified-Since": old}).status_code == 200


def test_every_sample_story_is_in_at_least_one_topic(live_server: str, ingested: dict) -> None:
    items = json.loads(fetch(live_server, "/feeds/all.json?limit=200").content)["items"]
    assert len(items) == SAMPLE_STORIES
    assert all(item["tags"] for item in items)


def test_unknown_topic_is_404_and_bad_limit_is_400(live_server: str, ingested: dict) -> None:
    resp = fetch(live_server, "/feeds/nosuch.atom")
    assert resp.status_code == 404 and "unknown topic" in resp.text
    assert fetch(live_server, "/feeds/world.xml").status_code == 404
    for bad in ("0", "201", "abc", "-5"):
        resp = fetch(live_server, f"/feeds/world.atom?limit={bad}")
        assert resp.status_code == 400 and "limit" in resp.text
    assert fetch(live_server, "/feeds/world.atom?lmit=5").status_code == 400


def test_default_feed_holds_the_newest_50_and_all_unarchived_changes(live_server: str) -> None:
    headlines = distinct_headlines(70)
    ingest(live_server, "\n-\n".join(headlines).encode())
    items = json.loads(fetch(live_server, "/feeds/all.json").content)["items"]
    titles = [i["title"] for i in items]
    assert titles[:50] == headlines[:50]
    # Changes 51-70 are not yet in a full archive page (50 a page): they stay in the current feed.
    log = json.loads(fetch(live_server, "/feeds/all.json?since=50&limit=50").content)["items"]
    assert {i["title"] for i in log} <= set(titles)
    assert 50 <= len(titles) <= 70


def test_limit_returns_that_many_items(live_server: str, ingested: dict) -> None:
    assert len(feedparser.parse(fetch(live_server, "/feeds/all.atom?limit=5").content).entries) == 5
    assert (
        len(feedparser.parse(fetch(live_server, "/feeds/all.atom?limit=200").content).entries)
        == SAMPLE_STORIES
    )


def test_topics_json_opml_and_healthz(live_server: str, ingested: dict) -> None:
    topics = fetch(live_server, "/topics").json()["topics"]
    by_slug = {t["slug"]: t for t in topics}
    assert by_slug["all"]["count"] == SAMPLE_STORIES
    assert by_slug["cybercrime"]["count"] >= 1
    assert by_slug["cybercrime"]["feeds"]["atom"] == f"{live_server}/feeds/cybercrime.atom"
    opml = etree.fromstring(fetch(live_server, "/opml").content)
    urls = opml.xpath("//outline/@xmlUrl")
    assert f"{live_server}/feeds/cybercrime.atom" in urls
    assert fetch(live_server, "/healthz").json()["status"] == "ok"


def test_index_and_story_pages(live_server: str, ingested: dict) -> None:
    index = fetch(live_server, "/")
    assert index.status_code == 200
    assert 'rel="alternate" type="application/atom+xml"' in index.text
    assert "Content-Security-Policy" in index.headers
    items = json.loads(fetch(live_server, "/feeds/cybercrime.json").content)["items"]
    [article] = [i for i in items if i["title"] == ARTICLE]
    page = requests.get(article["url"], timeout=10)
    assert page.status_code == 200
    assert "Budapest Convention on Cybercrime" in page.text
    assert page.text.count("<p>") >= 26
    assert fetch(live_server, "/stories/doesnotexist").status_code == 404


def test_reader_library_subscribes_and_shows_the_article(live_server: str, ingested: dict) -> None:
    from reader import make_reader

    reader = make_reader(":memory:")
    url = f"{live_server}/feeds/cybercrime.atom"
    reader.add_feed(url)
    reader.update_feeds()
    entries = list(reader.get_entries())
    assert ARTICLE in [e.title for e in entries]
    [article] = [e for e in entries if e.title == ARTICLE]
    assert "Budapest Convention" in article.content[0].value
    reader.update_feeds()  # a second poll shows nothing twice
    assert len(list(reader.get_entries())) == len(entries)
    reader.close()


NO_TOPIC = "Man bites dog"


def test_story_with_no_topic_is_only_in_all(live_server: str) -> None:
    """A story the categorizer abstains on goes through the real workers into ``all`` only: every
    format renders it without a category, no topic feed or count holds it, its page works."""
    sports = "Lakers beat Celtics in NBA Finals opener as LeBron James scores 35 points"
    status = ingest(live_server, f"{NO_TOPIC}\n-\n{sports}\n".encode())
    assert status["new"] == 2 and status["rejected"] == []
    items = json.loads(fetch(live_server, "/feeds/all.json").content)["items"]
    [story] = [i for i in items if i["title"] == NO_TOPIC]
    assert story["tags"] == [] and story["_wirefeed"]["topics"] == []
    atom = feedparser.parse(fetch(live_server, "/feeds/all.atom").content)
    assert atom.bozo == 0
    [entry] = [e for e in atom.entries if e.title == NO_TOPIC]
    assert not entry.get("tags")
    rss = etree.fromstring(fetch(live_server, "/feeds/all.rss").content)
    [item] = [i for i in rss.xpath("//item") if i.findtext("title") == NO_TOPIC]
    assert item.findall("category") == []
    topics = {t["slug"]: t for t in fetch(live_server, "/topics").json()["topics"]}
    assert topics["all"]["count"] == 2
    assert topics["sports"]["count"] == 1
    assert sum(t["count"] for s, t in topics.items() if s != "all" and t["parent"] is None) == 1
    for slug in ("world", "sports", "business"):
        titles = [i["title"] for i in json.loads(fetch(live_server, f"/feeds/{slug}.json").content)["items"]]
        assert NO_TOPIC not in titles
    assert requests.get(story["url"], timeout=10).status_code == 200
    assert fetch(live_server, "/").status_code == 200

"""IPTC ninjs 3.1: the field mapping of one story, and the served documents (stories, feeds,
``since`` pages, versions) validated against IPTC's JSON Schema, over HTTP with real workers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import distinct_headlines, ingest, post_dump, wait_done
from tests.ninjs_schema import assert_valid
from wirefeed.feeds.categorize.taxonomy import MediaTopic, Taxonomy
from wirefeed.feeds.render.formats import FeedInfo, render, story_guid
from wirefeed.feeds.render.html import body_html
from wirefeed.feeds.render.ninjs import ninjs_item, pub_status
from wirefeed.feeds.stories.model import Block, Story, TopicTag

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "wire-sample.txt"
BASE = "http://127.0.0.1:8080"
AUTHORITY = "wirefeed.example.org,2026"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPORT = MediaTopic("15000000", "sport")
INFO = FeedInfo(
    slug="sports",
    title="wirefeed: Sports",
    description="Sports",
    base_url=BASE,
    tag_authority=AUTHORITY,
    updated=T0,
    topic_titles={"sports": "Sports", "local": "Local"},
    mediatopics={"sports": SPORT},
)
ARTICLE = Story(
    id="0a1b2c3d4e5f6071",
    title="Dynamo win the derby 3–1 <b>",
    kind="article",
    blocks=(Block("p", "First paragraph & more."), Block("h", "A subhead"), Block("p", "Second <script>.")),
    summary="First paragraph & more.",
    author="B.Shevchenko",
    agency="BTB",
    published=T0,
    updated=T0 + timedelta(minutes=10),
    source="dump-1",
    topics=(
        TopicTag("sports", 0.912, "classifier: sports 0.91", "classifier"),
        TopicTag("local", 3.0, "title matches 'Kyiv' (score 3.0)", "rules", 0.65),
    ),
    version=2,
)
HEADLINE = Story(
    id="5555666677778888",
    title="Markets close higher",
    kind="headline",
    blocks=(),
    summary="",
    author=None,
    agency=None,
    published=T0,
    updated=T0,
    source="dump-1",
    topics=(TopicTag("sports", 2.5, "old rules-only tag"),),  # stored before `by` was recorded
)


# -- the mapping -----------------------------------------------------------------------------


def test_article_fields() -> None:
    item = ninjs_item(INFO, ARTICLE)
    assert_valid(item)
    assert item["uri"] == story_guid(AUTHORITY, ARTICLE.id)
    assert item["version"] == "2"
    assert (item["firstCreated"], item["versionCreated"]) == (
        "2026-03-01T12:00:00+00:00",
        "2026-03-01T12:10:00+00:00",
    )
    assert item["pubStatus"] == pub_status(ARTICLE) == "usable"
    assert item["headlines"] == [{"role": "main", "contentType": "text/plain", "value": ARTICLE.title}]
    html, text = item["bodies"]
    assert html["contentType"] == "text/html" and html["value"] == body_html(ARTICLE)
    assert "<script" not in html["value"] and "&lt;script&gt;" in html["value"]
    assert text["contentType"] == "text/plain"
    assert text["value"] == "First paragraph & more.\n\nA subhead\n\nSecond <script>."
    assert text["wordCount"] == 8 and text["charCount"] == len(text["value"])
    assert item["descriptions"] == [
        {"role": "summary", "contentType": "text/plain", "value": ARTICLE.summary}
    ]
    assert item["by"] == "B.Shevchenko"
    assert item["genres"] == [{"name": "Article", "literal": "article"}]
    assert item["altIds"] == [{"role": "wirefeed", "value": ARTICLE.id}, {"role": "agency", "value": "BTB"}]
    assert item["subjects"] == [
        {
            "uri": "http://cv.iptc.org/newscodes/mediatopic/15000000",
            "name": "sport",
            "literal": "sports",
            "confidence": 91,
            "creator": "wirefeed:classifier",
        },
        # a topic without an IPTC code is named by its own page
        {
            "uri": f"{BASE}/topics/local",
            "name": "Local",
            "literal": "local",
            "confidence": 65,
            "creator": "wirefeed:rules",
        },
    ]
    assert "associations" not in item


def test_headline_fields() -> None:
    item = ninjs_item(INFO, HEADLINE)
    assert_valid(item)
    assert item["version"] == "1"
    assert item["genres"] == [{"name": "Headline only", "literal": "headline"}]
    assert [b["value"] for b in item["bodies"]] == ["<p>Markets close higher</p>", "Markets close higher"]
    assert "by" not in item and "infoSources" not in item
    # no `by` recorded: no creator; a rules score above 1 is clamped to 100
    assert item["subjects"] == [
        {
            "uri": "http://cv.iptc.org/newscodes/mediatopic/15000000",
            "name": "sport",
            "literal": "sports",
            "confidence": 100,
        }
    ]


def test_feed_document_is_deterministic_and_every_item_valid() -> None:
    body = render("ninjs", INFO, [ARTICLE, HEADLINE])
    assert body == render("ninjs", INFO, [ARTICLE, HEADLINE])
    doc = json.loads(body)
    assert doc["feed_url"] == f"{BASE}/feeds/sports.ninjs"
    assert [i["uri"] for i in doc["items"]] == [story_guid(AUTHORITY, s.id) for s in (ARTICLE, HEADLINE)]
    for item in doc["items"]:
        assert_valid(item)


def test_the_schema_check_can_fail() -> None:
    item = ninjs_item(INFO, ARTICLE)
    with pytest.raises(AssertionError):
        assert_valid({**item, "version": 2})  # ninjs versions are strings
    with pytest.raises(AssertionError):
        assert_valid({**item, "bylines": []})  # not a ninjs 3.1 property


def test_every_shipped_topic_has_a_well_formed_iptc_code() -> None:
    taxonomy = Taxonomy.load(ROOT / "config" / "topics.toml")
    for topic in taxonomy:
        mt = topic.mediatopic
        assert mt is not None, f"{topic.slug} has no mediatopic"
        assert len(mt.code) == 8 and mt.code.isdigit() and mt.name.strip(), topic.slug
        assert mt.uri == f"http://cv.iptc.org/newscodes/mediatopic/{mt.code}"
        top_level = mt.code.endswith("000000") and not mt.code.startswith("20")
        concept = mt.code.startswith("20") or mt.code[2:].endswith("000")
        assert top_level or concept, topic.slug


def test_stored_tags_keep_who_decided_and_old_tags_still_load() -> None:
    again = Story.from_dict(json.loads(json.dumps(ARTICLE.to_dict())))
    assert again.topics == ARTICLE.topics
    assert ARTICLE.to_dict()["topics"][1] == ["local", 3.0, "title matches 'Kyiv' (score 3.0)", "rules", 0.65]
    old = {**HEADLINE.to_dict(), "topics": [["sports", 2.5, "old rules-only tag"]]}
    assert Story.from_dict(old).topics == (TopicTag("sports", 2.5, "old rules-only tag", ""),)


def test_the_rules_alone_record_a_confidence_on_the_0_to_1_scale() -> None:
    from wirefeed.feeds.categorize.protocol import TaggingInput
    from wirefeed.feeds.categorize.rules import RuleCategorizer

    taxonomy = Taxonomy.load(ROOT / "config" / "topics.toml")
    tags = RuleCategorizer(taxonomy).categorize(TaggingInput("Olympics: Premier League striker wins gold"))
    assert tags and all(t.by == "rules" for t in tags)
    assert all(t.confidence is not None and 0 < t.confidence < 1 for t in tags), tags
    assert any(t.score > 1 for t in tags)  # the raw rule score, which is no confidence


def test_a_topic_with_an_unknown_or_malformed_code_is_refused() -> None:
    from wirefeed.errors import ConfigError

    base = '[mediatopics]\n"15000000" = "sport"\n[topics.sports]\ntitle = "Sports"\n'
    assert Taxonomy.from_toml(base + 'mediatopic = "15000000"\n').get("sports").mediatopic == SPORT
    for bad in ('mediatopic = "1500"\n', 'mediatopic = "04000000"\n', "mediatopic = 15000000\n"):
        with pytest.raises(ConfigError, match="mediatopic"):
            Taxonomy.from_toml(base + bad)


# -- served, over HTTP, with real workers -----------------------------------------------------


def fetch(base: str, path: str, **headers: str) -> requests.Response:
    return requests.get(base + path, headers=headers, timeout=30)


def _items(resp: requests.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/ninjs+json; charset=utf-8"
    return json.loads(resp.content)["items"]


def _catch_up(base: str, slug: str, since: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every ninjs item of ``slug``'s change log after ``since``, following ``next_url``."""
    out: list[dict[str, Any]] = []
    url = f"{base}/feeds/{slug}.ninjs?since={since}&limit={limit}"
    while True:
        doc = json.loads(requests.get(url, timeout=30).content)
        out.extend(doc["items"])
        cursor = doc["_wirefeed"]["cursor"]
        if "next_url" not in doc:
            return out, cursor
        url = doc["next_url"]


@pytest.mark.usefixtures("client", "workers")
def test_sample_stories_and_feeds_validate(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    feed = _items(fetch(live_server, "/feeds/all.ninjs?limit=60"))
    assert len(feed) == 48  # 51 items, three pairs of versions
    by_version = {}
    for item in feed:
        assert_valid(item)
        by_version.setdefault(item["version"], []).append(item)
        one = fetch(live_server, f"/stories/{item['altIds'][0]['value']}.ninjs")
        assert one.status_code == 200 and json.loads(one.content) == item
        assert all(s["uri"].startswith("http://cv.iptc.org/newscodes/mediatopic/") for s in item["subjects"])
        assert all(s["creator"] in ("wirefeed:rules", "wirefeed:classifier") for s in item["subjects"])
    assert len(by_version["2"]) == 3  # each resent pair is one story, at version 2
    # every topic feed and its plain current document
    topics = fetch(live_server, "/topics").json()["topics"]
    for row in topics:
        assert row["feeds"]["ninjs"] == f"{live_server}/feeds/{row['slug']}.ninjs"
        assert row["slug"] == "all" or row["mediatopic"]["uri"].endswith(row["mediatopic"]["code"])
        for item in _items(fetch(live_server, f"/feeds/{row['slug']}.ninjs")):
            assert_valid(item)
    # combined and filtered variants
    combined = _items(fetch(live_server, "/feeds/sports+world.ninjs?kind=headline&limit=100"))
    assert combined and all(i["genres"][0]["literal"] == "headline" for i in combined)
    for item in combined:
        assert_valid(item)


@pytest.mark.usefixtures("client", "workers")
def test_http_conditional_gzip_links_and_negotiation(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    first = fetch(live_server, "/feeds/world.ninjs")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert f'<{live_server}/websub>; rel="hub"' in first.headers["Link"]
    assert f'<{live_server}/feeds/world.ninjs>; rel="self"' in first.headers["Link"]
    assert fetch(live_server, "/feeds/world.ninjs", **{"If-None-Match": etag}).status_code == 304
    assert fetch(live_server, "/feeds/world.ninjs", **{"If-Modified-Since": modified}).status_code == 304
    raw = requests.get(
        live_server + "/feeds/world.ninjs", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw.raw.read()) == first.content
    negotiated = fetch(live_server, "/feeds/world", Accept="application/ninjs+json")
    assert negotiated.content == first.content and "Accept" in negotiated.headers["Vary"]

    sid = json.loads(first.content)["items"][0]["altIds"][0]["value"]
    story = fetch(live_server, f"/stories/{sid}.ninjs")
    assert story.status_code == 200 and story.headers["Content-Type"].startswith("application/ninjs+json")
    assert (
        fetch(live_server, f"/stories/{sid}.ninjs", **{"If-None-Match": story.headers["ETag"]}).status_code
        == 304
    )
    asked = fetch(live_server, f"/stories/{sid}", Accept="application/ninjs+json")
    assert asked.content == story.content and "Accept" in asked.headers["Vary"]
    page = fetch(live_server, f"/stories/{sid}", Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.headers["Content-Type"].startswith("text/html") and f"/stories/{sid}.ninjs" in page.text
    assert page.headers["Vary"] == "Accept"
    assert fetch(live_server, "/stories/nosuchstory.ninjs").status_code == 404
    assert fetch(live_server, "/feeds/world.ninjs?since=x").status_code == 400
    assert 'href="' + f"{live_server}/feeds/world.ninjs" + '"' in fetch(live_server, "/topics/world").text


@pytest.mark.usefixtures("client", "workers")
def test_a_resend_is_version_2_with_the_same_uri(live_server: str) -> None:
    title = distinct_headlines(1, seed=16)[0]
    text = f"{title}\nThe harbour council met on Monday.\nA.Writer--WIRE\n"
    ingest(live_server, text.encode())
    [v1] = _items(fetch(live_server, "/feeds/all.ninjs"))
    cursor = json.loads(fetch(live_server, "/feeds/all.ninjs").content)["_wirefeed"]["cursor"]
    ingest(live_server, text.replace("Monday", "Tuesday").encode())
    [v2] = _items(fetch(live_server, "/feeds/all.ninjs"))
    assert (v1["version"], v2["version"]) == ("1", "2")
    assert v1["uri"] == v2["uri"] and v1["firstCreated"] == v2["firstCreated"]
    assert v2["versionCreated"] > v1["versionCreated"]
    assert "Tuesday" in v2["bodies"][1]["value"]
    changes, _ = _catch_up(live_server, "all", cursor, 10)
    assert changes == [v2]
    sid = v2["altIds"][0]["value"]
    assert json.loads(fetch(live_server, f"/stories/{sid}.ninjs?version=1").content) == v1
    assert json.loads(fetch(live_server, f"/stories/{sid}.ninjs?version=2").content) == v2
    for bad in ("?version=3", "?version=0", "?version=x", "?v=1"):
        assert fetch(live_server, f"/stories/{sid}.ninjs{bad}").status_code == 400, bad
    for item in (v1, v2):
        assert_valid(item)


GENERATED = 5000


@pytest.mark.usefixtures("client", "workers")
def test_a_generated_dump_of_5000_stories_validates(live_server: str, settings: Any) -> None:
    from bench.gen import DumpGenerator

    gen = DumpGenerator(seed=16)
    items = gen.items(GENERATED)
    chunks, size, current = [], 0, []
    for it in items:  # dumps under the test server's size limit, items whole
        if current and size + len(it.text) + 3 > settings.max_dump_bytes - 1000:
            chunks.append(current)
            current, size = [], 0
        current.append(it.text)
        size += len(it.text.encode()) + 3
    chunks.append(current)
    for chunk in chunks:
        wait_done(live_server, post_dump(live_server, ("\n-\n".join(chunk) + "\n").encode()), timeout=600)
    stored = fetch(live_server, "/topics").json()["topics"][0]["count"]
    seen: dict[str, dict[str, Any]] = {}
    changes, cursor = _catch_up(live_server, "all", 0, 200)
    assert cursor >= stored
    for item in changes:
        assert_valid(item)
        seen[item["uri"]] = item
    assert len(seen) == stored > 4000
    versions = {item["version"] for item in seen.values()}
    assert "2" in versions  # the generator resends some stories with a changed figure
    # a story seen at several versions keeps its uri, and the log shows them in order
    history: dict[str, list[int]] = {}
    for item in changes:
        history.setdefault(item["uri"], []).append(int(item["version"]))
    assert all(v == sorted(v) for v in history.values())

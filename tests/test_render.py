"""Tests of feeds.render: RSS 2.0, Atom 1.0, JSON Feed 1.1 and OPML from hand-built stories."""

from __future__ import annotations

import json
import locale
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # let `pytest tests/...` import the project without installing it
    sys.path.insert(0, _ROOT)

import feedparser  # noqa: E402
import pytest  # noqa: E402
from lxml import etree  # noqa: E402

from wirefeed.feeds.categorize.taxonomy import MediaTopic  # noqa: E402
from wirefeed.feeds.render.formats import (  # noqa: E402
    FORMATS,
    MEDIA_TYPES,
    FeedInfo,
    body_html,
    feed_url,
    render,
    render_atom,
    render_json,
    render_opml,
    render_rss,
    story_guid,
    story_url,
)
from wirefeed.feeds.render.html import _blocks_html  # noqa: E402
from wirefeed.feeds.stories.model import Block, Story, TopicTag  # noqa: E402

BASE = "http://127.0.0.1:8080"
AUTHORITY = "wirefeed.example.org,2026"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOPIC_TITLES = {"sports": "Sports", "world": "World News", "tech": "Technology"}
MEDIATOPICS = {  # "world" and "sports" share a concept here, to show it is listed once
    "sports": MediaTopic("15000000", "sport"),
    "world": MediaTopic("15000000", "sport"),
    "tech": MediaTopic("13000000", "science and technology"),
}
IPTC = "http://cv.iptc.org/newscodes/mediatopic/"

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
NS = {"atom": ATOM_NS, "content": CONTENT_NS, "dc": DC_NS}

SCRIPT = "<script>alert(1)</script>"
CONTROL = "\x00\x07\x0b\x1b\x7f"


def _article() -> Story:
    """26 paragraphs and 2 subheads, with a byline and two topics."""
    blocks: list[Block] = []
    for i in range(1, 27):
        blocks.append(Block("p", f"Paragraph {i} of the match report, with a “quote” and a comma, too."))
        if i in (9, 18):
            blocks.append(Block("h", f"Subhead after paragraph {i}"))
    return Story(
        id="0a1b2c3d4e5f6071",
        title="Dynamo win the derby 3–1",
        kind="article",
        blocks=tuple(blocks),
        summary="Paragraph 1 of the match report, with a “quote” and a comma, too.",
        author="B.Shevchenko",
        agency="BTB",
        published=T0,
        updated=T0 + timedelta(minutes=10),
        source="dump-1",
        topics=(TopicTag("sports", 0.91234567, "keyword: derby"), TopicTag("world", 0.4, "place: Kyiv")),
        content_hash="h1",
    )


def _nasty() -> Story:
    """Markup, CDATA end, ampersands, curly quotes, emoji and control characters everywhere."""
    title = f"Evil {SCRIPT} ]]> & “curly” ‘quotes’ 🎉{CONTROL} end"
    return Story(
        id="1111222233334444",
        title=title,
        kind="article",
        blocks=(
            Block("p", f"Body says {SCRIPT} and ]]> and AT&T “hi” 🎉{CONTROL}."),
            Block("h", f"Sub {SCRIPT}"),
            Block("p", "<b>not bold</b> &amp; not an entity"),
        ),
        summary=f"Summary {SCRIPT} & ]]>{CONTROL}",
        author=f"A. O’Brien & <i>Co</i>{CONTROL}",
        agency="WIRE",
        published=T0 - timedelta(minutes=30),
        updated=T0 - timedelta(minutes=30),
        source="dump-1",
        topics=(TopicTag("tech", 0.7, f"keyword: {SCRIPT}"),),
    )


def _headline() -> Story:
    """A headline-only item: no body, no byline."""
    return Story(
        id="5555666677778888",
        title="Markets close higher",
        kind="headline",
        blocks=(),
        summary="",
        author=None,
        agency=None,
        published=T0 - timedelta(hours=1),
        updated=T0 - timedelta(hours=1),
        source="dump-1",
        topics=(TopicTag("sports", 0.5, "default"),),
    )


ARTICLE, NASTY, HEADLINE = _article(), _nasty(), _headline()
STORIES = [ARTICLE, NASTY, HEADLINE]  # newest first
CLEAN_NASTY_TITLE = f"Evil {SCRIPT} ]]> & “curly” ‘quotes’ 🎉 end"


def _info(slug: str = "sports", updated: datetime = T0 + timedelta(minutes=10)) -> FeedInfo:
    return FeedInfo(
        slug=slug,
        title=f"wirefeed: {TOPIC_TITLES.get(slug, 'All stories')}",
        description="Stories about sports & more",
        base_url=BASE,
        tag_authority=AUTHORITY,
        updated=updated,
        topic_titles=TOPIC_TITLES,
        mediatopics=MEDIATOPICS,
    )


INFO = _info()


def _guids() -> list[str]:
    return [story_guid(AUTHORITY, s.id) for s in STORIES]


@pytest.fixture(scope="module")
def docs() -> dict[str, bytes]:
    return {fmt: render(fmt, INFO, STORIES) for fmt in FORMATS}


# -- URLs, ids, body HTML ------------------------------------------------------------------


def test_urls_and_ids() -> None:
    assert story_url(BASE, "abc") == f"{BASE}/stories/abc"
    assert story_guid(AUTHORITY, "abc") == f"tag:{AUTHORITY}:story:abc"
    assert feed_url(BASE, "sports", "atom") == f"{BASE}/feeds/sports.atom"
    assert set(MEDIA_TYPES) == set(FORMATS) == {"rss", "atom", "json", "ninjs"}


def test_body_html_article() -> None:
    html = body_html(ARTICLE)
    assert html.count("<p>") == 26 and html.count("</p>") == 26
    assert html.count("<h3>") == 2
    assert (
        html.index("Paragraph 9 ")
        < html.index("<h3>Subhead after paragraph 9</h3>")
        < html.index("Paragraph 10 ")
    )


def test_body_html_escapes_everything() -> None:
    html = body_html(NASTY)
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "AT&amp;T" in html and "&amp;amp; not an entity" in html
    assert "]]&gt;" in html
    assert not any(c in html for c in CONTROL)
    assert "“hi” 🎉" in html


def test_body_html_headline_is_title_paragraph() -> None:
    assert body_html(HEADLINE) == "<p>Markets close higher</p>"


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError):
        render("html", INFO, STORIES)


# -- every format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_feed(fmt: str, docs: dict[str, bytes]) -> None:
    d = feedparser.parse(docs[fmt])
    assert d.bozo == 0, d.get("bozo_exception")
    assert d.version == {"rss": "rss20", "atom": "atom10"}[fmt]
    assert d.feed.title == INFO.title
    assert d.feed.link == f"{BASE}/topics/sports"
    assert [e.id for e in d.entries] == _guids()
    assert [e.link for e in d.entries] == [story_url(BASE, s.id) for s in STORIES]
    assert [e.title for e in d.entries] == [ARTICLE.title, CLEAN_NASTY_TITLE, HEADLINE.title]

    article, nasty, headline = d.entries
    content = article.content[0].value
    assert article.content[0].type == "text/html"
    for i in range(1, 27):
        assert f"Paragraph {i} of the match report" in content
    assert content.count("<p>") == 26
    assert "<h3>Subhead after paragraph 9</h3>" in content
    assert "<h3>Subhead after paragraph 18</h3>" in content
    assert article.author == "B.Shevchenko"
    assert "author" not in headline
    assert headline.content[0].value == "<p>Markets close higher</p>"

    labels = [t.get("label") or t.term for t in article.tags]
    iptc = "sport" if fmt == "atom" else "15000000"  # RSS has no label: the code is the text
    assert labels == ["Sports", "World News", iptc]
    assert [t.scheme for t in article.tags] == [f"{BASE}/topics/", f"{BASE}/topics/", IPTC]
    tech = "science and technology" if fmt == "atom" else "13000000"
    assert [t.get("label") or t.term for t in nasty.tags] == ["Technology", tech]
    assert article.published_parsed[:6] == (2026, 3, 1, 12, 0, 0)


def test_feedparser_sanitised_content_has_no_script(docs: dict[str, bytes]) -> None:
    for fmt in ("rss", "atom"):
        raw = docs[fmt]
        assert b"<script" not in raw and b"<b>" not in raw and b"<i>" not in raw
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in raw  # the title, escaped once
        assert b"&amp;lt;script&amp;gt;" in raw  # body text, escaped as HTML and then as XML
        assert not any(c.encode() in raw for c in CONTROL)
        nasty = feedparser.parse(raw).entries[1]
        html = nasty.content[0].value
        assert "<script" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "AT&amp;T" in html and "“hi” 🎉" in html
        assert nasty.author == "A. O’Brien & <i>Co</i>"  # plain text, shown as such


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic(fmt: str) -> None:
    first = render(fmt, INFO, STORIES)
    _blocks_html.cache_clear()
    rebuilt = [Story.from_dict(json.loads(json.dumps(s.to_dict()))) for s in STORIES]
    assert render(fmt, INFO, STORIES) == first
    if fmt != "json":  # JSON keeps the raw score; to_dict rounds it
        assert render(fmt, INFO, rebuilt) == first


def test_concurrent_renders_agree_and_leave_locale_alone() -> None:
    """feedgen flips the process locale for RSS dates; renders in threads must not see it."""
    before = locale.setlocale(locale.LC_ALL)
    expected = {fmt: render(fmt, INFO, STORIES) for fmt in FORMATS}
    jobs = [fmt for fmt in FORMATS for _ in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda fmt: (fmt, render(fmt, INFO, STORIES)), jobs))
    assert all(doc == expected[fmt] for fmt, doc in results)
    assert locale.setlocale(locale.LC_ALL) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_utc_times_are_normalised(fmt: str) -> None:
    kyiv = timezone(timedelta(hours=2))
    shifted = [replace(s, published=s.published.astimezone(kyiv)) for s in STORIES]
    info = _info(updated=INFO.updated.astimezone(kyiv))
    assert render(fmt, info, shifted) == render(fmt, INFO, STORIES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_feed(fmt: str) -> None:
    doc = render(fmt, _info("all", updated=datetime(2026, 1, 1, tzinfo=UTC)), [])
    if fmt in ("json", "ninjs"):
        feed = json.loads(doc)
        assert feed["items"] == [] and feed["home_page_url"] == f"{BASE}/"
        return
    d = feedparser.parse(doc)
    assert d.bozo == 0 and d.entries == []
    assert d.feed.link == f"{BASE}/"
    assert d.feed.updated_parsed[:6] == (2026, 1, 1, 0, 0, 0)


def test_order_is_kept_as_given() -> None:
    reordered = [HEADLINE, ARTICLE, NASTY]
    ids = [story_guid(AUTHORITY, s.id) for s in reordered]
    assert [e.id for e in feedparser.parse(render_rss(INFO, reordered)).entries] == ids
    assert [e.id for e in feedparser.parse(render_atom(INFO, reordered)).entries] == ids
    assert [i["id"] for i in json.loads(render_json(INFO, reordered))["items"]] == ids


# -- RSS -----------------------------------------------------------------------------------


def test_rss_structure(docs: dict[str, bytes]) -> None:
    root = etree.fromstring(docs["rss"])
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    links = channel.findall("link")
    assert [ln.text for ln in links] == [f"{BASE}/topics/sports"]
    self_links = channel.findall("atom:link", NS)
    assert len(self_links) == 1
    assert self_links[0].get("rel") == "self"
    assert self_links[0].get("href") == f"{BASE}/feeds/sports.rss"
    assert self_links[0].get("type") == "application/rss+xml"
    assert channel.findtext("language") == "en"
    assert channel.findtext("generator") == "wirefeed"
    assert channel.findtext("lastBuildDate") == "Sun, 01 Mar 2026 12:10:00 +0000"

    items = channel.findall("item")
    assert len(items) == 3
    for item, story in zip(items, STORIES, strict=True):
        guid = item.find("guid")
        assert guid.text == story_guid(AUTHORITY, story.id) and guid.get("isPermaLink") == "false"
        assert item.findtext("link") == story_url(BASE, story.id)
        assert item.find("content:encoded", NS).text == body_html(story)
        assert item.find("author") is None  # RSS <author> must be an e-mail address
    article, nasty, headline = items
    assert article.findtext("pubDate") == "Sun, 01 Mar 2026 12:00:00 +0000"
    assert article.findtext("dc:creator", namespaces=NS) == "B.Shevchenko"
    assert headline.find("dc:creator", NS) is None
    cats = [(c.text, c.get("domain")) for c in article.findall("category")]
    topics = f"{BASE}/topics/"
    assert cats == [("Sports", topics), ("World News", topics), ("15000000", IPTC)]
    assert article.findtext("description") == ARTICLE.summary
    assert headline.findtext("description") == HEADLINE.title
    # The description is HTML: the plain-text summary is escaped before it goes in.
    assert nasty.findtext("description") == "Summary &lt;script&gt;alert(1)&lt;/script&gt; &amp; ]]&gt;"


# -- Atom ----------------------------------------------------------------------------------


def test_atom_structure(docs: dict[str, bytes]) -> None:
    root = etree.fromstring(docs["atom"])
    assert root.tag == f"{{{ATOM_NS}}}feed"
    assert root.nsmap == {None: ATOM_NS}
    assert root.findtext("atom:id", namespaces=NS) == f"tag:{AUTHORITY}:feed:sports"
    assert root.findtext("atom:updated", namespaces=NS) == "2026-03-01T12:10:00+00:00"
    assert root.findtext("atom:author/atom:name", namespaces=NS) == INFO.title
    assert root.findtext("atom:generator", namespaces=NS) == "wirefeed"
    links = {ln.get("rel"): ln for ln in root.findall("atom:link", NS)}
    assert links["self"].get("href") == f"{BASE}/feeds/sports.atom"
    assert links["self"].get("type") == "application/atom+xml"
    assert links["alternate"].get("href") == f"{BASE}/topics/sports"

    entries = root.findall("atom:entry", NS)
    assert [e.findtext("atom:id", namespaces=NS) for e in entries] == _guids()
    for entry, story in zip(entries, STORIES, strict=True):
        content = entry.find("atom:content", NS)
        assert content.get("type") == "html" and content.text == body_html(story)
        assert entry.find("atom:summary", NS).get("type") == "text"
        assert entry.find("atom:link", NS).get("href") == story_url(BASE, story.id)
    article = entries[0]
    assert article.findtext("atom:published", namespaces=NS) == "2026-03-01T12:00:00+00:00"
    assert article.findtext("atom:updated", namespaces=NS) == "2026-03-01T12:10:00+00:00"
    assert article.findtext("atom:author/atom:name", namespaces=NS) == "B.Shevchenko"
    assert entries[2].find("atom:author", NS) is None
    cats = [(c.get("term"), c.get("label")) for c in article.findall("atom:category", NS)]
    assert cats == [("sports", "Sports"), ("world", "World News"), ("15000000", "sport")]
    schemes = [c.get("scheme") for c in article.findall("atom:category", NS)]
    assert schemes == [f"{BASE}/topics/", f"{BASE}/topics/", IPTC]


# -- JSON Feed -----------------------------------------------------------------------------


def test_json_feed(docs: dict[str, bytes]) -> None:
    raw = docs["json"]
    feed = json.loads(raw)
    assert "🎉".encode() in raw and b"\\u" not in raw  # non-ASCII kept as is
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == INFO.title
    assert feed["home_page_url"] == f"{BASE}/topics/sports"
    assert feed["feed_url"] == f"{BASE}/feeds/sports.json"
    assert feed["language"] == "en"
    items = feed["items"]
    assert [i["id"] for i in items] == _guids()
    article, nasty, headline = items
    assert article["url"] == story_url(BASE, ARTICLE.id)
    assert article["title"] == ARTICLE.title
    assert article["content_html"] == body_html(ARTICLE)
    assert article["summary"] == ARTICLE.summary
    assert article["date_published"] == "2026-03-01T12:00:00+00:00"
    assert article["date_modified"] == "2026-03-01T12:10:00+00:00"
    assert article["authors"] == [{"name": "B.Shevchenko"}]
    assert article["tags"] == ["sports", "world"]
    assert article["_wirefeed"] == {
        "kind": "article",
        "agency": "BTB",
        "topics": [
            {
                "slug": "sports",
                "score": 0.9123,
                "reason": "keyword: derby",
                "uri": f"{IPTC}15000000",
                "name": "sport",
                "confidence": 91,
            },
            {
                "slug": "world",
                "score": 0.4,
                "reason": "place: Kyiv",
                "uri": f"{IPTC}15000000",
                "name": "sport",
                "confidence": 40,
            },
        ],
    }
    assert "authors" not in headline
    assert headline["content_html"] == "<p>Markets close higher</p>"
    assert headline["_wirefeed"]["kind"] == "headline" and headline["_wirefeed"]["agency"] is None
    assert nasty["title"] == CLEAN_NASTY_TITLE  # JSON Feed titles are plain text
    assert "<script" not in nasty["content_html"]


# -- OPML ----------------------------------------------------------------------------------


def test_opml_lists_every_topic() -> None:
    topics = [("sports", "Sports", "Games & results"), ("tech", "Technology", "Gadgets")]
    doc = render_opml(BASE, "wirefeed", topics)
    assert doc == render_opml(BASE, "wirefeed", topics)
    root = etree.fromstring(doc)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "wirefeed"
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        f"{BASE}/feeds/all.atom",
        f"{BASE}/feeds/sports.atom",
        f"{BASE}/feeds/tech.atom",
    ]
    html_urls = [f"{BASE}/", f"{BASE}/topics/sports", f"{BASE}/topics/tech"]
    assert [o.get("htmlUrl") for o in outlines] == html_urls
    assert all(o.get("type") == "rss" and o.get("text") and o.get("title") for o in outlines)
    assert outlines[1].get("text") == "Sports" and outlines[1].get("description") == "Games & results"

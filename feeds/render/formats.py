"""Feed documents: one topic's stories as RSS 2.0, Atom 1.0 or JSON Feed 1.1, and the OPML list.

Every renderer is a pure function of its inputs: the same :class:`FeedInfo` and stories give
byte-identical output (no clock is read; every date comes from the stories or from
``FeedInfo.updated``), so a stored document's ETag changes only when its content does.
Stories are rendered in the order given, which callers keep newest first.

RSS and Atom are built with feedgen, JSON Feed and OPML directly. Known feedgen 1.0 quirks
this module works around:

- ``add_entry()`` prepends unless given ``order="append"``;
- the RSS ``<channel><link>`` is the last ``fg.link()`` call's href, so the self link is
  added first and the HTML page last;
- a new ``FeedGenerator``/``FeedEntry`` stamps ``updated``/``lastBuildDate`` with *now*
  unless they are set, so they are always set;
- its generator defaults to ``python-feedgen`` with its version, replaced by ``wirefeed``;
- it drops ``rel``/``type`` of entry links (an Atom entry link defaults to ``alternate``);
- its RFC 822 date formatting switches the process-wide locale to ``C`` and back for every
  date (``feedgen.util.formatRFC2822``), which is not thread-safe; RSS serialisation is
  therefore done under a module lock;
- lxml refuses control characters, so every string handed to feedgen is stripped of the
  characters XML 1.0 forbids (:func:`wirefeed.feeds.render.html.xml_text`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from wirefeed.feeds.render.html import body_html, summary_text, xml_text
from wirefeed.feeds.render.subjects import MEDIATOPIC_SCHEME, MediaTopic, confidence, mediatopic_categories
from wirefeed.feeds.store.keys import ALL_TOPIC
from wirefeed.feeds.stories.model import USABLE, Story, TopicTag, from_micros

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "FeedInfo",
    "body_html",
    "feed_url",
    "page_url",
    "render",
    "render_atom",
    "render_json",
    "render_opml",
    "render_rss",
    "story_guid",
    "story_url",
]

FORMATS = ("rss", "atom", "json", "ninjs")
"""Feed formats served, by file extension (ninjs: :mod:`wirefeed.feeds.render.ninjs`)."""

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "ninjs": "application/ninjs+json; charset=utf-8",
}
"""``Content-Type`` of each format."""

ALL_TITLE = "All stories"
ALL_DESCRIPTION = "Every story, newest first."
"""Title and description of the ``all`` feed (:data:`~wirefeed.feeds.store.keys.ALL_TOPIC`)."""

LANGUAGE = "en"
GENERATOR = "wirefeed"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
"""RFC 5005 feed history namespace."""

_RSS_LOCK = threading.Lock()
"""Serialises feedgen's RSS output, whose date formatting flips the process locale."""


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed says about itself (everything but its stories)."""

    slug: str
    """Topic slug, or ``"all"``."""
    title: str
    """Feed title, e.g. ``"wirefeed: Sports"``."""
    description: str
    base_url: str
    """Public base URL without a trailing slash, e.g. ``"http://127.0.0.1:8080"``."""
    tag_authority: str
    """Authority and date of ``tag:`` ids, e.g. ``"wirefeed.example.org,2026"``."""
    updated: datetime
    """The topic's last change (tz-aware UTC); for an empty feed, a fixed time."""
    topic_titles: Mapping[str, str]
    """Topic slug -> human title, for category labels."""
    hub_url: str | None = None
    """WebSub hub to advertise (``atom:link rel="hub"``, JSON Feed ``hubs``)."""
    self_url: str | None = None
    """The document's own URL when it is not the topic's plain feed URL (archives, filters)."""
    links: tuple[tuple[str, str], ...] = ()
    """More ``(rel, href)`` links: RFC 5005 ``prev-archive``, ``next-archive``, ``current``."""
    archive: bool = False
    """An RFC 5005 archive document (``fh:archive``)."""
    json_extra: Mapping[str, Any] | None = None
    """Top-level JSON Feed (and ninjs feed) members to add (``next_url``, ``_wirefeed``)."""
    mediatopics: Mapping[str, MediaTopic] = field(default_factory=dict)
    """Topic slug -> its IPTC Media Topic, for the categories in that scheme."""


# -- URLs and ids ------------------------------------------------------------------------


def story_url(base_url: str, story_id: str) -> str:
    """The HTML page of a story."""
    return f"{base_url}/stories/{story_id}"


def story_guid(tag_authority: str, story_id: str) -> str:
    """The permanent id of a story in every feed (RSS guid, Atom id, JSON Feed id)."""
    return f"tag:{tag_authority}:story:{story_id}"


def feed_url(base_url: str, slug: str, fmt: str) -> str:
    """The URL of a topic's feed in format ``fmt``."""
    return f"{base_url}/feeds/{slug}.{fmt}"


def page_url(base_url: str, slug: str) -> str:
    """The HTML page of a topic; the home page for ``"all"``."""
    return f"{base_url}/" if slug == ALL_TOPIC else f"{base_url}/topics/{slug}"


def _feed_id(info: FeedInfo) -> str:
    return f"tag:{info.tag_authority}:feed:{info.slug}"


def _utc(dt: datetime) -> datetime:
    """``dt`` in UTC; a naive time is taken to be UTC already."""
    if dt.tzinfo is UTC:
        return dt
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _rfc3339(dt: datetime) -> str:
    """``dt`` as RFC 3339, written exactly as feedgen writes Atom dates."""
    return _utc(dt).isoformat()


def _title(text: str) -> str:
    return xml_text(text) or "(untitled)"


# -- dispatch ------------------------------------------------------------------------------


def render(fmt: str, info: FeedInfo, stories: Sequence[Story]) -> bytes:
    """Render ``stories`` (newest first) as a feed in format ``fmt`` (one of :data:`FORMATS`).

    Raises ``ValueError`` for an unknown format.
    """
    if fmt == "ninjs":  # ninjs builds on this module's URLs and ids, so it is imported late
        from wirefeed.feeds.render.ninjs import render_ninjs

        return render_ninjs(info, stories)
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown feed format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    if any(s.withdrawn for s in stories):  # withdrawn stories become tombstones
        from wirefeed.feeds.render import tombstones

        return tombstones.render(fmt, info, stories, renderer)
    return renderer(info, stories)


# -- RSS 2.0 and Atom 1.0 (feedgen) --------------------------------------------------------


def _generator(info: FeedInfo, fmt: str, self_type: str) -> FeedGenerator:
    """A FeedGenerator with the feed-level fields set (``fmt``'s own URL as the self link)."""
    fg = FeedGenerator()
    fg.id(_feed_id(info))
    fg.title(_title(info.title or GENERATOR))
    fg.description(xml_text(info.description) or _title(info.title or GENERATOR))
    fg.language(LANGUAGE)
    fg.updated(_utc(info.updated))  # also RSS lastBuildDate; never "now"
    fg.generator(GENERATOR)
    # Order matters: RSS takes its <channel><link> from the last link added.
    fg.link(href=info.self_url or feed_url(info.base_url, info.slug, fmt), rel="self", type=self_type)
    fg.link(href=page_url(info.base_url, info.slug), rel="alternate", type="text/html")
    extra = _extra_links(info)
    if extra or info.archive:
        fg.register_extension("wfhist", _HistoryExtension, BaseEntryExtension, atom=True, rss=True)
        fg.wfhist.setup(extra, info.archive)
    return fg


def _extra_links(info: FeedInfo) -> list[tuple[str, str]]:
    hub = [("hub", info.hub_url)] if info.hub_url else []
    return hub + list(info.links)


class _HistoryExtension(BaseExtension):
    """Adds ``atom:link`` elements feedgen cannot write in RSS (hub, RFC 5005 archive links)
    and the RFC 5005 ``fh:archive`` marker, to both RSS and Atom."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.archive = False

    def setup(self, links: list[tuple[str, str]], archive: bool) -> None:
        self.links, self.archive = links, archive

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS}

    def _extend(self, parent: etree._Element) -> None:
        for rel, href in self.links:
            etree.SubElement(parent, f"{{{ATOM_NS}}}link", rel=rel, href=href)
        if self.archive:
            etree.SubElement(parent, f"{{{FH_NS}}}archive")

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        self._extend(feed)
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        self._extend(feed[0])
        return feed


def _entry(fg: FeedGenerator, info: FeedInfo, story: Story, *, labels: bool) -> FeedEntry:
    """Add ``story`` to ``fg`` (at the end) with the fields RSS and Atom share; IPTC Media Topic
    categories carry their name as ``label`` (Atom) or only their code (RSS, where a label
    would replace the code as the element's text)."""
    fe = fg.add_entry(order="append")
    fe.id(story_guid(info.tag_authority, story.id))  # RSS guid isPermaLink="false"
    fe.title(_title(story.title))
    fe.link(href=story_url(info.base_url, story.id))
    fe.published(_utc(story.published))
    fe.updated(_utc(story.updated))
    if story.topics:
        scheme = f"{info.base_url}/topics/"
        titles = info.topic_titles
        fe.category(
            [
                {"term": xml_text(t.slug), "label": xml_text(titles.get(t.slug, t.slug)), "scheme": scheme}
                for t in story.topics
            ]
            + [
                {"term": mt.code, "scheme": MEDIATOPIC_SCHEME, **({"label": mt.name} if labels else {})}
                for mt in mediatopic_categories(story.topics, info.mediatopics)
            ]
        )
    return fe


def render_rss(info: FeedInfo, stories: Sequence[Story]) -> bytes:
    """The feed as RSS 2.0 (with ``content:encoded`` and ``dc:creator``), UTF-8 encoded."""
    fg = _generator(info, "rss", "application/rss+xml")
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    for story in stories:
        fe = _entry(fg, info, story, labels=False)
        # RSS descriptions are HTML by convention: escape the plain-text summary.
        fe.description(escape(summary_text(story), quote=False))
        fe.content(body_html(story))  # -> content:encoded (description is already set)
        if story.author:
            fe.dc.dc_creator(xml_text(story.author))
    with _RSS_LOCK:
        return fg.rss_str(pretty=False)


def render_atom(info: FeedInfo, stories: Sequence[Story]) -> bytes:
    """The feed as Atom 1.0, UTF-8 encoded."""
    fg = _generator(info, "atom", "application/atom+xml")
    # A feed-level author makes entries without a byline valid.
    fg.author(name=_title(info.title or GENERATOR))
    for story in stories:
        fe = _entry(fg, info, story, labels=True)
        fe.summary(summary_text(story), type="text")
        fe.content(body_html(story), type="html")
        if story.author:
            fe.author(name=xml_text(story.author))
    return fg.atom_str(pretty=False)


# -- JSON Feed 1.1 -------------------------------------------------------------------------


def _json_item(info: FeedInfo, story: Story) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": story_guid(info.tag_authority, story.id),
        "url": story_url(info.base_url, story.id),
        "title": _title(story.title),
        "content_html": body_html(story),
        "summary": summary_text(story),
        "date_published": _rfc3339(story.published),
        "date_modified": _rfc3339(story.updated),
    }
    if story.author:
        item["authors"] = [{"name": xml_text(story.author)}]
    item["tags"] = [xml_text(t.slug) for t in story.topics]
    item["_wirefeed"] = {
        "kind": story.kind,
        "agency": xml_text(story.agency) if story.agency else None,
        "topics": [_json_topic(info, t) for t in story.topics],
    }
    if story.status != USABLE:  # an editor's correction
        item["_wirefeed"].update(
            status=story.status, status_at=_rfc3339(from_micros(story.status_at)), note=story.status_note
        )
    return item


def _json_topic(info: FeedInfo, t: TopicTag) -> dict[str, Any]:
    """A topic in the ``_wirefeed`` extension; with its IPTC Media Topic ``uri`` and ``name``."""
    out: dict[str, Any] = {"slug": xml_text(t.slug), "score": round(t.score, 4), "reason": xml_text(t.reason)}
    mt = info.mediatopics.get(t.slug)
    if mt is not None:
        out["uri"], out["name"] = mt.uri, mt.name
    out["confidence"] = confidence(t)
    return out


def render_json(info: FeedInfo, stories: Sequence[Story]) -> bytes:
    """The feed as JSON Feed 1.1, UTF-8 encoded (non-ASCII kept as is, compact)."""
    doc = {
        "version": JSON_FEED_VERSION,
        "title": _title(info.title or GENERATOR),
        "home_page_url": page_url(info.base_url, info.slug),
        "feed_url": info.self_url or feed_url(info.base_url, info.slug, "json"),
        "description": xml_text(info.description),
        "language": LANGUAGE,
        "items": [_json_item(info, s) for s in stories],
    }
    if info.hub_url:
        doc["hubs"] = [{"type": "WebSub", "url": info.hub_url}]
    if info.json_extra:
        doc.update(info.json_extra)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


# -- OPML 2.0 ------------------------------------------------------------------------------


def render_opml(base_url: str, title: str, topics: Sequence[tuple[str, str, str]]) -> bytes:
    """An OPML 2.0 subscription list: the ``all`` feed, then one outline per topic.

    ``topics`` holds ``(slug, title, description)``; each outline points at the topic's Atom
    feed (``xmlUrl``) and HTML page (``htmlUrl``).
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _title(title or GENERATOR)
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    rows = [(ALL_TOPIC, ALL_TITLE, ALL_DESCRIPTION)]
    rows += [t for t in topics if t[0] != ALL_TOPIC]
    for slug, topic_title, description in rows:
        text = _title(topic_title or slug)
        attrs = {
            "type": "rss",
            "text": text,
            "title": text,
            "xmlUrl": feed_url(base_url, slug, "atom"),
            "htmlUrl": page_url(base_url, slug),
            "language": LANGUAGE,
        }
        if description:
            attrs["description"] = xml_text(description)
        etree.SubElement(body, "outline", attrs)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)

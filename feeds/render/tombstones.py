"""Tombstones: how a feed says that a story was withdrawn.

:func:`wirefeed.feeds.render.formats.render` hands a document here when its stories include
withdrawn ones (:data:`~wirefeed.feeds.stories.model.WITHDRAWN`): the live stories are rendered as
usual, then each withdrawn one is added in the format's own way, never with its content:

- Atom: an RFC 6721 ``<at:deleted-entry ref="<entry id>" when="...">`` with ``<at:comment>``
  (the reason) and a link to the story page (which answers 410), namespace
  ``http://purl.org/atompub/tombstones/1.0`` declared on the feed;
- RSS 2.0 (which has no standard tombstone): an item with the story's guid, the title
  ``[Withdrawn]``, the reason as description and ``<category domain=".../status">withdrawn``, so a
  reader that updates items by guid replaces the story's text;
- JSON Feed: an item with the story's id, ``content_text`` saying it was withdrawn, and the
  extension ``"_wirefeed": {"status": "withdrawn", "withdrawn_at": ..., "reason": ...}``.

The output is a pure function of the input, like every renderer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from wirefeed.feeds.render.html import xml_text
from wirefeed.feeds.stories.model import Story, from_micros

if TYPE_CHECKING:
    from wirefeed.feeds.render.formats import FeedInfo

TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"
"""RFC 6721 namespace (prefix ``at``)."""
ATOM_NS = "http://www.w3.org/2005/Atom"
WITHDRAWN_TITLE = "[Withdrawn]"


def note(story: Story) -> str:
    """One line a reader sees in place of the story."""
    when = from_micros(story.status_at).strftime("%Y-%m-%d %H:%M UTC")
    reason = xml_text(story.status_note).strip()
    return f"This story was withdrawn on {when}" + (f": {reason}" if reason else ".")


def when_rfc3339(story: Story) -> str:
    return from_micros(story.status_at).isoformat()


def render(
    fmt: str, info: FeedInfo, stories: Sequence[Story], renderer: Callable[[FeedInfo, Sequence[Story]], bytes]
) -> bytes:
    """``stories`` in format ``fmt``: the live ones through ``renderer``, the withdrawn ones as
    tombstones (in the order given)."""
    live = [s for s in stories if not s.withdrawn]
    gone = [s for s in stories if s.withdrawn]
    body = renderer(info, live)
    if not gone:
        return body
    return _ADDERS[fmt](body, info, gone)


def _guid(info: FeedInfo, story: Story) -> str:
    from wirefeed.feeds.render.formats import story_guid

    return story_guid(info.tag_authority, story.id)


def _url(info: FeedInfo, story: Story) -> str:
    from wirefeed.feeds.render.formats import story_url

    return story_url(info.base_url, story.id)


def _atom(body: bytes, info: FeedInfo, gone: Sequence[Story]) -> bytes:
    old = etree.fromstring(body)
    root = etree.Element(old.tag, attrib=dict(old.attrib), nsmap={**old.nsmap, "at": TOMBSTONE_NS})
    root.text = old.text
    root.extend(list(old))
    for story in gone:
        el = etree.SubElement(root, f"{{{TOMBSTONE_NS}}}deleted-entry", ref=_guid(info, story))
        el.set("when", when_rfc3339(story))
        etree.SubElement(el, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=_url(info, story))
        comment = etree.SubElement(el, f"{{{TOMBSTONE_NS}}}comment")
        comment.set("type", "text")
        comment.text = note(story)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _rss(body: bytes, info: FeedInfo, gone: Sequence[Story]) -> bytes:
    root = etree.fromstring(body)
    channel = root.find("channel")
    assert channel is not None  # feedgen always writes one
    for story in gone:
        item = etree.SubElement(channel, "item")
        etree.SubElement(item, "title").text = WITHDRAWN_TITLE
        etree.SubElement(item, "link").text = _url(info, story)
        etree.SubElement(item, "description").text = note(story)
        etree.SubElement(item, "guid", isPermaLink="false").text = _guid(info, story)
        etree.SubElement(item, "category", domain=f"{info.base_url}/status").text = "withdrawn"
        etree.SubElement(item, "pubDate").text = format_datetime(from_micros(story.status_at), usegmt=True)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def json_item(info: FeedInfo, story: Story) -> dict[str, Any]:
    """The JSON Feed item of a withdrawn story."""
    return {
        "id": _guid(info, story),
        "url": _url(info, story),
        "title": WITHDRAWN_TITLE,
        "content_text": note(story),
        "date_modified": when_rfc3339(story),
        "_wirefeed": {
            "status": "withdrawn",
            "withdrawn_at": when_rfc3339(story),
            "reason": xml_text(story.status_note),
        },
    }


def _json(body: bytes, info: FeedInfo, gone: Sequence[Story]) -> bytes:
    doc = json.loads(body)
    doc["items"].extend(json_item(info, s) for s in gone)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_ADDERS = {"atom": _atom, "rss": _rss, "json": _json}

"""IPTC ninjs 3.1 (News in JSON): one story as a ninjs object, and a feed of them.

The mapping from a :class:`~wirefeed.feeds.stories.model.Story` is documented field by field
in ``docs/ninjs.md``. Like the other renderers, every function here is pure: the same inputs
give the same bytes (no clock is read).

A ninjs *feed* is not something ninjs defines: it is a JSON object shaped like a JSON Feed
(``title``, ``feed_url``, ``items`` newest first, ``next_url`` and the ``_wirefeed`` cursor of a
``since`` page) whose ``items`` are ninjs objects, each valid against the ninjs 3.1 schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from wirefeed.feeds.render import tombstones
from wirefeed.feeds.render.formats import (
    GENERATOR,
    LANGUAGE,
    FeedInfo,
    _rfc3339,
    _title,
    feed_url,
    page_url,
    story_guid,
    story_url,
)
from wirefeed.feeds.render.html import body_html, summary_text, xml_text
from wirefeed.feeds.render.subjects import confidence, creator
from wirefeed.feeds.stories.model import Story, TopicTag

NINJS_MEDIA_TYPE = "application/ninjs+json"
"""Media type of a ninjs document (``Accept`` on ``/stories/<id>``)."""

STANDARD = {
    "name": "ninjs",
    "version": "3.1",
    "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#",
}
"""The ``standard`` member of every ninjs object: what it claims to conform to."""

GENRES = {
    "article": {"name": "Article", "literal": "article"},
    "headline": {"name": "Headline only", "literal": "headline"},
}
"""ninjs ``genres`` of each story kind: a full article, or a wire headline without a body."""


def pub_status(story: Story) -> str:
    """The ninjs ``pubStatus`` of a story: ``canceled`` once withdrawn (recall every copy),
    ``usable`` otherwise (a corrected story is usable: its new version replaces the old)."""
    return "canceled" if story.withdrawn else "usable"


def _canceled_item(info: FeedInfo, story: Story) -> dict[str, Any]:
    """A withdrawn story as ninjs: its id and ``pubStatus: canceled``, no content (none is kept)."""
    return {
        "uri": story_guid(info.tag_authority, story.id),
        "standard": STANDARD,
        "type": "text",
        "representationType": "partial",
        "version": str(story.version),
        "versionCreated": tombstones.when_rfc3339(story),
        "pubStatus": pub_status(story),
        "language": LANGUAGE,
        "headlines": [{"role": "main", "contentType": "text/plain", "value": tombstones.WITHDRAWN_TITLE}],
        "descriptions": [{"role": "summary", "contentType": "text/plain", "value": tombstones.note(story)}],
        "altIds": [{"role": "wirefeed", "value": story.id}],
    }


def body_text(story: Story) -> str:
    """The story's body as plain text: paragraphs and subheads separated by blank lines; a
    headline-only story's body is its title."""
    if not story.blocks:
        return xml_text(story.title)
    return "\n\n".join(xml_text(b.text) for b in story.blocks)


def ninjs_item(info: FeedInfo, story: Story) -> dict[str, Any]:
    """``story`` as a ninjs 3.1 object (a dict ready for ``json.dumps``)."""
    if story.withdrawn:
        return _canceled_item(info, story)
    html, text = body_html(story), body_text(story)
    item: dict[str, Any] = {
        "uri": story_guid(info.tag_authority, story.id),
        "standard": STANDARD,
        "type": "text",
        "representationType": "full",
        "version": str(story.version),
        "firstCreated": _rfc3339(story.published),
        "versionCreated": _rfc3339(story.updated),
        "pubStatus": pub_status(story),
        "language": LANGUAGE,
        "headlines": [{"role": "main", "contentType": "text/plain", "value": _title(story.title)}],
        "descriptions": [{"role": "summary", "contentType": "text/plain", "value": summary_text(story)}],
        "bodies": [
            {"role": "main", "contentType": "text/html", "value": html},
            {
                "role": "main",
                "contentType": "text/plain",
                "charCount": len(text),
                "wordCount": len(text.split()),
                "value": text,
            },
        ],
        "genres": [GENRES[story.kind]],
        "subjects": [_subject(info, t) for t in story.topics],
        "altIds": [{"role": "wirefeed", "value": story.id}],
        "renditions": [
            {"name": "html", "href": story_url(info.base_url, story.id), "contentType": "text/html"}
        ],
    }
    if story.author:
        item["by"] = xml_text(story.author)
        item["people"] = [{"name": xml_text(story.author), "rel": "author"}]
    if story.agency:
        agency = xml_text(story.agency)
        item["altIds"].append({"role": "agency", "value": agency})
        item["infoSources"] = [{"name": agency, "role": "originfo"}]
    return item


def _subject(info: FeedInfo, tag: TopicTag) -> dict[str, Any]:
    """A topic as a ninjs subject: its IPTC Media Topic (or, without one, the topic's own page)."""
    mt = info.mediatopics.get(tag.slug)
    out: dict[str, Any] = (
        {"uri": mt.uri, "name": mt.name}
        if mt is not None
        else {"uri": f"{info.base_url}/topics/{tag.slug}", "name": info.topic_titles.get(tag.slug, tag.slug)}
    )
    out["literal"] = xml_text(tag.slug)
    out["confidence"] = confidence(tag)
    by = creator(tag)
    if by is not None:
        out["creator"] = by
    return out


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_ninjs_story(info: FeedInfo, story: Story) -> bytes:
    """One story as a ninjs document, UTF-8 encoded."""
    return _dumps(ninjs_item(info, story))


def render_ninjs(info: FeedInfo, stories: Sequence[Story]) -> bytes:
    """A feed of ninjs objects (``stories`` newest first, as given), UTF-8 encoded."""
    doc: dict[str, Any] = {
        "title": _title(info.title or GENERATOR),
        "description": xml_text(info.description),
        "home_page_url": page_url(info.base_url, info.slug),
        "feed_url": info.self_url or feed_url(info.base_url, info.slug, "ninjs"),
        "language": LANGUAGE,
    }
    if info.hub_url:
        doc["hubs"] = [{"type": "WebSub", "url": info.hub_url}]
    if info.links or info.archive:
        doc["links"] = [{"rel": rel, "href": href} for rel, href in info.links]
        doc["archive"] = info.archive
    doc["items"] = [ninjs_item(info, s) for s in stories]
    if info.json_extra:
        doc.update(info.json_extra)
    return _dumps(doc)

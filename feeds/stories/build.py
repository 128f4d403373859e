"""Turning parsed stories into stored :class:`~wirefeed.feeds.stories.model.Story` records."""

from __future__ import annotations

from datetime import datetime

from wirefeed.feeds.stories.ids import content_hash
from wirefeed.feeds.stories.model import ParsedStory, Story, TopicTag


def summarise(parsed: ParsedStory, max_chars: int) -> str:
    """The first paragraph of an article, cut at a word boundary; a headline's title."""
    paragraphs = parsed.paragraphs
    if not paragraphs:
        return parsed.title
    text = paragraphs[0]
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:") + "…"


def build_story(
    parsed: ParsedStory,
    *,
    story_id: str,
    agency: str,
    published: datetime,
    updated: datetime,
    source: str,
    summary_chars: int,
    version: int = 1,
    seen: tuple[str, ...] = (),
    topics: tuple[TopicTag, ...] = (),
) -> Story:
    """A story record of ``parsed`` (its topics may be filled in later with ``dataclasses.replace``)."""
    return Story(
        id=story_id,
        title=parsed.title,
        kind=parsed.kind,
        blocks=parsed.blocks,
        summary=summarise(parsed, summary_chars),
        author=parsed.author,
        agency=agency,
        published=published,
        updated=updated,
        source=source,
        topics=topics,
        content_hash=content_hash(parsed),
        version=version,
        seen_hashes=seen,
    )

"""What every categorizer takes and promises: :class:`TaggingInput` in, topic tags out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from wirefeed.feeds.stories.model import ParsedStory, Story, TopicTag

DEFAULT_REASON = "no rule matched; default"
"""Reason of the fallback tag given to a story that no rule matches."""


@dataclass(frozen=True, slots=True)
class TaggingInput:
    """The text a categorizer sees: the title, the summary (standfirst) and the full body.

    The summary may repeat the body's first paragraph; that is fine (the lede then counts a
    little more, as it should).
    """

    title: str
    summary: str = ""
    body: str = ""

    @classmethod
    def from_story(cls, story: Story | ParsedStory) -> TaggingInput:
        """Tagging input of a stored or parsed story (body = its paragraphs and subheads)."""
        summary = story.summary if isinstance(story, Story) else ""
        return cls(title=story.title, summary=summary, body="\n".join(b.text for b in story.blocks))


@runtime_checkable
class Categorizer(Protocol):
    """Anything that tags stories with topics of a taxonomy."""

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; empty when there is no evidence for any topic (the
        story is then only in ``all``)."""
        ...

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order (lets a batched method amortise its cost)."""
        ...

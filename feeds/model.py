"""Story model: the types that carry a story from the parser to the feeds.

Hand-off types are named for the direction data travels:

- :class:`ParsedStory` leaves the parser (text in, stories out; no ids, no times);
- :class:`Story` is what the store keeps and the renderers read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

BlockKind = Literal["p", "h"]
StoryKind = Literal["headline", "article"]


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of an article body: a paragraph (``p``) or a subhead (``h``)."""

    kind: BlockKind
    text: str


@dataclass(frozen=True, slots=True)
class ParsedStory:
    """A story as the parser found it in a wire dump."""

    title: str
    kind: StoryKind
    blocks: tuple[Block, ...] = ()
    author: str | None = None
    agency: str | None = None
    line: int = 0
    """1-based line of the story's title in the dump."""

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "p"]

    @property
    def subheads(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "h"]


@dataclass(frozen=True, slots=True)
class TopicTag:
    """A topic given to a story, with its score and the reason it was given."""

    slug: str
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Story:
    """A stored story, as the feeds show it."""

    id: str
    title: str
    kind: StoryKind
    blocks: tuple[Block, ...]
    summary: str
    author: str | None
    agency: str | None
    published: datetime
    updated: datetime
    source: str
    topics: tuple[TopicTag, ...] = field(default=())
    content_hash: str = ""
    """Hash of title, body and byline: an unchanged resend has the same hash."""
    version: int = 1
    """1 for the first text of a story; each new version (a wire resend with changes) adds one."""
    seen_hashes: tuple[str, ...] = ()
    """Content hashes of every version seen, so a late resend of an old version changes nothing."""

    @property
    def topic_slugs(self) -> list[str]:
        return [t.slug for t in self.topics]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "blocks": [[b.kind, b.text] for b in self.blocks],
            "summary": self.summary,
            "author": self.author,
            "agency": self.agency,
            "published": _ts(self.published),
            "updated": _ts(self.updated),
            "source": self.source,
            "topics": [[t.slug, round(t.score, 4), t.reason] for t in self.topics],
            "hash": self.content_hash,
            "v": self.version,
            "seen": list(self.seen_hashes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Story:
        return cls(
            id=d["id"],
            title=d["title"],
            kind=d["kind"],
            blocks=tuple(Block(k, t) for k, t in d["blocks"]),
            summary=d["summary"],
            author=d["author"],
            agency=d["agency"],
            published=_dt(d["published"]),
            updated=_dt(d["updated"]),
            source=d["source"],
            topics=tuple(TopicTag(s, sc, r) for s, sc, r in d["topics"]),
            content_hash=d.get("hash", ""),
            version=d.get("v", 1),
            seen_hashes=tuple(d.get("seen", ())),
        )


def _ts(dt: datetime) -> int:
    """Microseconds since the epoch (UTC): exact in JSON and as a Redis sorted-set score."""
    return (dt - _EPOCH) // _MICRO


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    return _ts(dt)


def from_micros(us: int) -> datetime:
    return _dt(us)

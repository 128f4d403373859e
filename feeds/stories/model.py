"""Story model: the types that carry a story from the parser to the feeds.

Hand-off types are named for the direction data travels:

- :class:`ParsedStory` leaves the parser (text in, stories out; no ids, no times);
- :class:`Story` is what the store keeps and the renderers read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

T = TypeVar("T")

BlockKind = Literal["p", "h"]
StoryKind = Literal["headline", "article"]
StoryStatus = Literal["usable", "corrected", "withdrawn"]

USABLE: StoryStatus = "usable"
CORRECTED: StoryStatus = "corrected"
WITHDRAWN: StoryStatus = "withdrawn"
STATUSES: tuple[StoryStatus, ...] = (USABLE, CORRECTED, WITHDRAWN)
"""A story's lifecycle status (:attr:`Story.status`), the one place it is defined:

- ``usable``: as the wire sent it (every story starts so, and a later wire resend of a
  corrected story is a new ``usable`` version);
- ``corrected``: an editor made a new version (``POST /api/stories/<id>/correct``); the text
  is current, ``status_note`` says why, ``status_at`` when;
- ``withdrawn``: killed (``wirefeed withdraw``, ``POST /api/stories/<id>/withdraw``): the record
  keeps only what recognises the story again (id, title, hashes, topics), never its text, and
  feeds carry a tombstone. In ninjs terms: usable -> ``usable``, corrected -> ``usable`` (a new
  version), withdrawn -> ``canceled``.
"""
_NO_STATUS = (USABLE, 0, "")


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


TagSource = Literal["rules", "classifier", "default", ""]
"""Which layer decided a topic: the editors' rules, the learned classifier, the fallback
topic; ``""`` for a tag stored before this was recorded."""


@dataclass(frozen=True, slots=True)
class TopicTag:
    """A topic given to a story, with its score and the reason it was given."""

    slug: str
    score: float
    reason: str
    by: TagSource = ""
    """The layer that decided the topic."""
    confidence: float | None = None
    """How sure the categorizer is, 0..1; ``None`` when the score already is that (the hybrid
    categorizer's scores are probabilities; the rules' own scores are not)."""

    def to_list(self) -> list[Any]:
        """Compact JSON form: ``[slug, score, reason]``, then ``by`` and ``confidence`` if set
        (``TopicTag(*form)`` reads it back, a tag stored before ``by`` existed too)."""
        out: list[Any] = [self.slug, round(self.score, 4), self.reason]
        if self.by:
            out.append(self.by)
            if self.confidence is not None:
                out.append(round(self.confidence, 4))
        return out


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
    status: StoryStatus = USABLE
    """The newsroom lifecycle status: ``usable``, ``corrected`` (an editor's new version) or
    ``withdrawn`` (killed: no content kept, the id never comes back). See :data:`STATUSES`."""
    status_at: int = 0
    """µs since the epoch of the last status change (0 for a story that never had one)."""
    status_note: str = ""
    """The editor's reason for the withdrawal or correction."""

    @property
    def topic_slugs(self) -> list[str]:
        return [t.slug for t in self.topics]

    @property
    def withdrawn(self) -> bool:
        return self.status == WITHDRAWN

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
            "topics": [t.to_list() for t in self.topics],
            "hash": self.content_hash,
            "v": self.version,
            "seen": list(self.seen_hashes),
            **({"st": [self.status, self.status_at, self.status_note]} if self.status != USABLE else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Story:
        return _new_story(
            d["id"],
            d["title"],
            d["kind"],
            tuple([Block(k, t) for k, t in d["blocks"]]),
            d["summary"],
            d["author"],
            d["agency"],
            _dt(d["published"]),
            _dt(d["updated"]),
            d["source"],
            tuple([TopicTag(*t) for t in d["topics"]]),
            d.get("hash", ""),
            d.get("v", 1),
            tuple(d.get("seen", ())),
            *d.get("st", _NO_STATUS),
        )


def positional_builder(cls: type[T]) -> Callable[..., T]:
    """A constructor of the frozen slots dataclass ``cls`` taking every field, in order,
    positionally: what ``cls(*values)`` gives, faster (half the time for :class:`ParsedStory`).

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; this
    sets the slots directly. Only for classes without ``__post_init__`` or ``init=False`` fields.
    """
    hooks = hasattr(cls, "__post_init__") or not all(f.init for f in fields(cls))  # type: ignore[arg-type]
    if hooks or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is no slots dataclass that __init__ only stores fields of")
    setters = tuple(cls.__dict__[f.name].__set__ for f in fields(cls))  # type: ignore[arg-type]
    new = object.__new__

    def build(*values: Any) -> T:
        obj = new(cls)
        for set_field, value in zip(setters, values, strict=True):
            set_field(obj, value)
        return obj

    return build


new_parsed_story: Callable[..., ParsedStory] = positional_builder(ParsedStory)
"""``ParsedStory(title, kind, blocks, author, agency, line)``, faster (the parser makes many)."""

_new_story: Callable[..., Story] = positional_builder(Story)


def _ts(dt: datetime) -> int:
    """Microseconds since the epoch (UTC): exact in JSON and as a Redis sorted-set score."""
    return (dt - _EPOCH) // _MICRO


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(0, 0, us)  # (days, seconds, microseconds): positional is faster


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    return _ts(dt)


def from_micros(us: int) -> datetime:
    return _dt(us)

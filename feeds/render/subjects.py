"""A story's topics as IPTC Media Topics, for every format: the concept each topic maps to
(``config/topics.toml``), how confident the categorizer was (0-100) and which layer decided.

Two wirefeed topics may map to one IPTC concept (``space`` and ``science`` both to
13000000 science and technology): :func:`mediatopic_categories` lists each concept once, at its
best-ranked topic; the per-topic views (JSON Feed, ninjs) keep one entry per topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wirefeed.feeds.categorize.taxonomy import MEDIATOPIC_SCHEME, MediaTopic
from wirefeed.feeds.stories.model import TopicTag

__all__ = ["MEDIATOPIC_SCHEME", "MediaTopic", "confidence", "creator", "mediatopic_categories"]

CREATORS = {"rules": "wirefeed:rules", "classifier": "wirefeed:classifier", "default": "wirefeed:default"}
"""ninjs ``creator`` of a subject, by the layer that decided its topic."""


def confidence(tag: TopicTag) -> int:
    """The categorizer's confidence in ``tag`` as a whole percentage, 0-100.

    A tag's ``confidence`` when the categorizer recorded one, else its score (the hybrid
    categorizer's scores are probabilities); clamped, so an old rules-only score above 1 is 100.
    """
    value = tag.confidence if tag.confidence is not None else tag.score
    return round(100 * min(1.0, max(0.0, value)))


def creator(tag: TopicTag) -> str | None:
    """Who decided ``tag`` (``wirefeed:rules``, ``wirefeed:classifier``, ``wirefeed:default``),
    ``None`` for a tag stored before this was recorded."""
    return CREATORS.get(tag.by)


def mediatopic_categories(
    topics: Sequence[TopicTag], mediatopics: Mapping[str, MediaTopic]
) -> list[MediaTopic]:
    """The IPTC concepts of a story's topics, best-ranked first, each once."""
    out: dict[str, MediaTopic] = {}
    for tag in topics:
        mt = mediatopics.get(tag.slug)
        if mt is not None and mt.code not in out:
            out[mt.code] = mt
    return list(out.values())

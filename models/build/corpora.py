"""The real-news corpora (``shared/data/news-topics``), mapped onto wirefeed's topics and split.

Offline only: the build scripts (``train_head.py``, ``rule_support.py``) and the classify bench
read the corpora through this module; the service and the workers never do.

- ``wikipedia-current-events.jsonl`` (Wikipedia contributors, "Portal:Current events", CC BY-SA):
  items whose heading was inherited from a section above (``inherited``, less reliable) and
  headings with no clean topic (disasters, religion, education) are left out. The item's first
  sentence is the story's title, the rest its summary.
- ``huffpost-headlines.jsonl`` (Misra, "News Category Dataset", CC0): headlines only (title),
  categories with no clean topic (comedy, parenting, travel...) left out.

Each corpus is split by row with a fixed seed (:data:`SEED`) into train / tune / test
(:data:`SHARES`); the head is fitted on train, its settings chosen on tune, and only the reports
read test.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SEED = 17
SHARES = (0.8, 0.1, 0.1)
"""train, tune, test."""

WIKIPEDIA = "wikipedia-current-events.jsonl"
HUFFPOST = "huffpost-headlines.jsonl"
CORPORA = {"wikipedia": WIKIPEDIA, "huffpost": HUFFPOST}

WIKI_TOPICS: dict[str, tuple[str, list[str]]] = {
    "Armed conflicts and attacks": ("world", []),
    "International relations": ("world", []),
    "Politics and elections": ("politics", []),
    "Law and crime": ("crime", []),
    "Business and economy": ("business", []),
    "Sports": ("sports", []),
    "Health and environment": ("health", ["science"]),
    "Arts and culture": ("culture", []),
    "Science and technology": ("science", ["technology"]),
}
"""Portal heading -> (topic, other topics the heading also covers)."""
HUFF_TOPICS: dict[str, str] = {
    "the worldpost": "world",
    "worldpost": "world",
    "world news": "world",
    "politics": "politics",
    "crime": "crime",
    "business": "business",
    "sports": "sports",
    "healthy living": "health",
    "wellness": "health",
    "arts": "culture",
    "arts & culture": "culture",
    "culture & arts": "culture",
    "entertainment": "culture",
    "science": "science",
    "tech": "technology",
}

NONE = "_none"
"""Label of a story that belongs to no wirefeed topic (see :data:`HUFF_NONE`); the head learns it
as one more class, so that it can say "none of these" rather than guess."""
HUFF_NONE = frozenset(
    {
        "comedy",
        "weird news",
        "parenting",
        "parents",
        "divorce",
        "weddings",
        "style",
        "style & beauty",
        "home & living",
        "food & drink",
        "taste",
        "travel",
        "good news",
    }
)
"""HuffPost categories that are none of wirefeed's topics: training examples of :data:`NONE`."""

_SENTENCE = re.compile(r"(?<=[a-z0-9)\]][.!?])\s+(?=[A-Z])")


def data_dir() -> Path | None:
    """The corpora's folder (``$WIREFEED_NEWS_TOPICS`` or ``shared/data/news-topics`` above the
    checkout), or None when it is not there."""
    env = os.environ.get("WIREFEED_NEWS_TOPICS")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "data" / "news-topics" for p in ROOT.parents]
    return next((p for p in candidates if (p / WIKIPEDIA).is_file() and (p / HUFFPOST).is_file()), None)


def _row(corpus: str, n: int, title: str, summary: str, topic: str, *, also: list[str]) -> dict[str, Any]:
    from wirefeed.feeds.categorize.evaluate import GROUPS

    return {
        "id": f"{corpus}-{n}",
        "title": title,
        "summary": summary,
        "topic": topic,
        "also": also,
        "group": GROUPS.get(topic),
    }


def load(corpus: str, folder: Path) -> list[dict[str, Any]]:
    """One corpus's usable rows as evaluation rows (``evaluate.read_eval``'s format), file order;
    HuffPost's off-topic categories (:data:`HUFF_NONE`) with the topic :data:`NONE`."""
    out = []
    with (folder / CORPORA[corpus]).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            r = json.loads(line)
            if corpus == "wikipedia":
                if r["inherited"] or r["category"] not in WIKI_TOPICS:
                    continue
                topic, also = WIKI_TOPICS[r["category"]]
                parts = _SENTENCE.split(r["text"].strip(), maxsplit=1)
                title, summary = parts[0], parts[1] if len(parts) > 1 else ""
            else:
                topic = HUFF_TOPICS.get(r["category"]) or (NONE if r["category"] in HUFF_NONE else None)
                if topic is None:
                    continue
                also, title, summary = [], r["text"], ""
            out.append(_row(corpus, n, title, summary, topic, also=list(also)))
    return out


def split(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """train / tune / test by row, with the fixed seed (the same rows every time)."""
    order = np.random.default_rng(SEED).permutation(len(rows))
    a = int(SHARES[0] * len(rows))
    b = a + int(SHARES[1] * len(rows))
    return {
        "train": [rows[i] for i in sorted(order[:a])],
        "tune": [rows[i] for i in sorted(order[a:b])],
        "test": [rows[i] for i in sorted(order[b:])],
    }


def splits(folder: Path | None = None, *, none: bool = False) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """corpus -> part -> rows; empty when the corpora are not there. Rows labelled :data:`NONE`
    only with ``none`` (training); the reports score the labelled topics."""
    folder = folder or data_dir()
    if folder is None:
        return {}
    out = {name: split(load(name, folder)) for name in CORPORA}
    if not none:
        out = {
            c: {k: [r for r in rows if r["topic"] != NONE] for k, rows in p.items()} for c, p in out.items()
        }
    return out

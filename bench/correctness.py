"""The batched pipeline and the obvious design must leave the same stories, topics and feeds.

:func:`snapshot` reads what a run left: every story (all fields but its times), every topic
index in order, and every feed as served over HTTP in every format with its dates blanked
(the two runs happen at different times; everything else must be byte for byte the same).
:func:`compare` lists the differences.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import redis

from bench.client import Http, atom_ids
from wirefeed.feeds.render.formats import FORMATS
from wirefeed.feeds.store import keys

_ISO = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)")
_RFC822 = re.compile(rb"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
_TIME_FIELDS = ("published", "updated")


def normalise_feed(body: bytes) -> bytes:
    return _RFC822.sub(b"<date>", _ISO.sub(b"<date>", body))


def snapshot(r: redis.Redis, web: Http, slugs: list[str]) -> dict[str, Any]:
    ids = [i.decode() for i in r.zrevrange(keys.topic_index(keys.ALL_TOPIC), 0, -1)]
    stories = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for sid, raw in zip(chunk, r.mget([keys.story(i) for i in chunk]), strict=True):
            d = json.loads(raw) if raw else None
            if d is not None:
                for f in _TIME_FIELDS:
                    d.pop(f, None)
            stories[sid] = d
    topics = {s: [i.decode() for i in r.zrevrange(keys.topic_index(s), 0, -1)] for s in slugs}
    feeds = {}
    for slug in slugs:
        for fmt in FORMATS:
            resp = web.get(f"/feeds/{slug}.{fmt}")
            feeds[f"{slug}.{fmt}"] = (resp.status, normalise_feed(resp.body))
    return {"stories": stories, "topics": topics, "feeds": feeds}


@dataclass
class Comparison:
    stories: list[str] = field(default_factory=list)
    """Stories missing on one side or differing in a field (times aside)."""
    topics: list[str] = field(default_factory=list)
    """Topic indexes with other members or another order."""
    feeds: list[str] = field(default_factory=list)
    """Feeds (``slug.fmt``) whose bytes differ, dates aside."""
    feeds_tail_only: list[str] = field(default_factory=list)
    """Of those, the ones whose newest ``limit`` entries are the same (they differ further down)."""

    @property
    def count(self) -> int:
        return len(self.stories) + len(self.topics) + len(self.feeds)

    def summary(self, a: dict[str, Any]) -> str:
        n_s, n_t, n_f = len(a["stories"]), len(a["topics"]), len(a["feeds"])
        parts = [
            f"stories: {n_s - len(self.stories)} of {n_s} the same",
            f"topic indexes: {n_t - len(self.topics)} of {n_t} the same",
            f"feeds: {n_f - len(self.feeds)} of {n_f} byte for byte the same (dates aside)",
        ]
        if self.feeds:
            parts.append(
                f"{len(self.feeds_tail_only)} of the {len(self.feeds)} differing feeds have the same newest "
                f"entries and differ only further down: {', '.join(self.feeds[:6])}"
                + (" ..." if len(self.feeds) > 6 else "")
            )
        if self.stories:
            parts.append("e.g. " + "; ".join(self.stories[:3]))
        return "; ".join(parts)


def compare(a: dict[str, Any], b: dict[str, Any], limit: int = 50) -> Comparison:
    """Differences between two snapshots."""
    out = Comparison()
    sa, sb = a["stories"], b["stories"]
    for sid in sorted(set(sa) ^ set(sb)):
        out.stories.append(f"story {sid} only in the {'first' if sid in sa else 'second'}")
    for sid in sorted(set(sa) & set(sb)):
        if sa[sid] != sb[sid]:
            fields = sorted(k for k in set(sa[sid]) | set(sb[sid]) if sa[sid].get(k) != sb[sid].get(k))
            out.stories.append(f"story {sid} differs in {fields}")
    for slug in a["topics"]:
        if a["topics"][slug] != b["topics"].get(slug):
            out.topics.append(slug)
    for name in a["feeds"]:
        if a["feeds"][name] != b["feeds"].get(name):
            out.feeds.append(name)
            slug = name.rsplit(".", 1)[0]
            ids_a = atom_ids(a["feeds"].get(f"{slug}.atom", (0, b""))[1])[:limit]
            ids_b = atom_ids(b["feeds"].get(f"{slug}.atom", (0, b""))[1])[:limit]
            if ids_a == ids_b:
                out.feeds_tail_only.append(name)
    return out

"""The batch payload: what ``wf:batch:<ingest>:<n>`` holds for a categorizer job (JSON).

``{"source": <where the dump came from>, "groups": [[item, ...], ...]}``: the dump's groups
(versions of one story, newest first), each item a stamped, parsed story with its LSH buckets.
Set-aside (poisoned) stories keep their group in the same item format, so ``wirefeed retry``
can queue them again as a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.versions import Incoming
from wirefeed.feeds.stories.model import Block, from_micros, new_parsed_story, to_micros


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as a categorizer reads it."""

    source: str
    groups: list[list[Incoming]]


def encode_batch(source: str, groups: list[list[dict[str, Any]]]) -> str:
    """The stored form of a batch whose items are already encoded (:func:`incoming_to_json`)."""
    return json.dumps({"source": source, "groups": groups})


def decode_batch(raw: bytes | str) -> Batch:
    payload = json.loads(raw)
    groups = [[incoming_from_json(d) for d in g] for g in payload["groups"]]
    return Batch(payload["source"], groups)


def incoming_to_json(item: Incoming) -> dict[str, Any]:
    p = item.parsed
    return {
        "title": p.title,
        "kind": p.kind,
        "blocks": [[b.kind, b.text] for b in p.blocks],
        "author": p.author,
        "agency": item.agency,
        "line": p.line,
        "stamp": to_micros(item.stamp),
        "lsh": item.buckets,  # computed by group_dump already: the categorizer need not again
    }


def incoming_from_json(d: dict[str, Any]) -> Incoming:
    parsed = new_parsed_story(
        d["title"], d["kind"], tuple(Block(k, t) for k, t in d["blocks"]), d["author"], d["agency"], d["line"]
    )
    if (lsh := d.get("lsh")) is not None:
        near.remember_buckets(d["title"], lsh)
    return Incoming(parsed, d["agency"], from_micros(d["stamp"]))

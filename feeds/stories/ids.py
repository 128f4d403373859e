"""Stable story ids: derived from the agency and the normalised title.

Ingesting the same dump again yields the same ids, so nothing new is created; a title that
differs only in case, spacing or curly quotes gives the same id too.
"""

from __future__ import annotations

import hashlib

from wirefeed.config.defaults import STORY_ID_CHARS
from wirefeed.feeds.stories.model import ParsedStory
from wirefeed.feeds.stories.text import normalise_title


def story_id(agency: str, title: str) -> str:
    """The id of the story with this agency and title."""
    key = f"{agency.strip().casefold()}\x1f{normalise_title(title)}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=STORY_ID_CHARS // 2).hexdigest()


def content_hash(parsed: ParsedStory) -> str:
    """Hash of everything a reader sees of a story; equal hashes mean an unchanged resend."""
    h = hashlib.blake2b(digest_size=12)
    for part in (parsed.title, parsed.author or "", parsed.agency or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    for block in parsed.blocks:
        h.update(block.kind.encode())
        h.update(block.text.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()

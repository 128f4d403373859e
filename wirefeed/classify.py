"""``wirefeed classify``: JSON lines in, JSON lines out, through the service's own categorizer.

Each input line: ``{"title": ..., "summary": ..., "body": ...}`` (``summary``/``body`` optional;
any ``id`` is echoed). Each output line, in input order: ``{"id"?, "title", "topics": [best
first], "scores": {slug: s}, "reasons": {slug: why}}`` (the id, when given, and the title echoed so
lines are easy to match up), or ``{"id"?, "error": "line <n>: ..."}`` for a line that is not a
JSON object with a title (the exit status is then 2).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import IO, Any

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.text import clean_text


def _parse(line: str) -> tuple[Any, TaggingInput | str]:
    """The line's ``id`` (or ``None``) and its tagging input, or an error message."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return None, "each line must be a JSON object with a string 'title'"
    if not isinstance(obj.get("title"), str):
        return obj.get("id"), "each line must be a JSON object with a string 'title'"
    return obj.get("id"), TaggingInput(
        title=clean_text(obj["title"]),
        summary=clean_text(str(obj.get("summary") or "")),
        body=clean_text(str(obj.get("body") or "")),
    )


def _chunks(stream: IO[str]) -> Iterator[list[tuple[Any, TaggingInput | str]]]:
    chunk: list[tuple[Any, TaggingInput | str]] = []
    for n, line in enumerate(stream, 1):
        if line.strip():
            ident, item = _parse(line)
            chunk.append((ident, item if isinstance(item, TaggingInput) else f"line {n}: {item}"))
        if len(chunk) >= defaults.CLASSIFY_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_encode = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder for every line."""


def classify_stream(settings: Settings, stdin: IO[str], stdout: IO[str]) -> int:
    gc.disable()  # loading allocates much and frees little: collections then are wasted work
    try:
        categorizer = build_categorizer(Taxonomy.load(settings.topics_path))
    finally:
        gc.freeze()  # what loading built lives as long as the process: later collections skip it
        gc.enable()
    status = 0
    for chunk in _chunks(stdin):
        good = [item for _, item in chunk if isinstance(item, TaggingInput)]
        results = iter(categorizer.categorize_many(good))
        lines: list[str] = []
        for ident, item in chunk:
            out: dict[str, Any] = {} if ident is None else {"id": ident}
            if isinstance(item, str):
                out["error"] = item
                status = 2
            else:
                out["title"] = item.title
                tags = next(results)
                out["topics"] = [t.slug for t in tags]
                out["scores"] = {t.slug: round(t.score, 4) for t in tags}
                out["reasons"] = {t.slug: t.reason for t in tags}
            lines.append(_encode(out))
        lines.append("")
        stdout.write("\n".join(lines))
    return status

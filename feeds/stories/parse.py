"""Wire-dump parser: a pure function from the text of a dump to the stories it holds.

The format and every rule of it (blocks, bylines, subheads, the title rule, whole-dump and
per-item errors) are in ``docs/wire-format.md``. Whole-dump problems raise
:class:`~wirefeed.errors.InputRejected`; an item's problem goes into :attr:`ParseResult.errors`
and the other items are kept. Constant work per character: hostile input costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from wirefeed.config import defaults
from wirefeed.config.defaults import PARSE_BYLINE_MAX_CHARS, PARSE_HEADLINE_MAX_CHARS, PARSE_MAX_TITLE_CHARS
from wirefeed.errors import InputRejected
from wirefeed.feeds.stories.model import Block, ParsedStory, StoryKind, new_parsed_story
from wirefeed.feeds.stories.text import xml_safe

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SEPARATOR_CHARS = _DASHES + " \t"
_SENTENCE_END = frozenset(".!…,;:")
_CLOSERS = "\"'\u2019\u201d\u00bb)]"
_BYLINE = re.compile(
    r"(?P<author>[^\W_][\w.'\u2019 ,-]{0,79}?)\s*--\s*"
    r"(?P<agency>[A-Z][A-Z0-9&.]{0,15}(?:[ /][A-Z][A-Z0-9&.]{0,15}){0,3})"
)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a dump held: its stories in dump order, and the items that were rejected."""

    stories: list[ParsedStory] = field(default_factory=list)
    errors: list[InputRejected] = field(default_factory=list)
    """Per-item problems; the good items are still in ``stories``."""


class _Line(NamedTuple):
    no: int
    text: str


class _Byline(NamedTuple):
    no: int
    author: str
    agency: str


def parse_dump(data: bytes | str, *, max_bytes: int = defaults.MAX_DUMP_BYTES) -> ParseResult:
    """Parse a wire dump into stories; see the module docstring for the format and rules.

    Raises :class:`~wirefeed.errors.InputRejected` (``too-large``, ``binary``, ``empty``) when
    the whole dump is unusable; problems of single items are returned in ``errors``. Any
    content gives one or the other; only a ``data`` that is neither bytes nor str (a caller's
    bug) raises :class:`TypeError`.
    """
    blocks = _blocks(_decode(data, max_bytes))
    if not blocks:
        raise InputRejected("empty", "the dump holds no stories, only blank lines or separators")
    result = ParseResult()
    for block in blocks:
        if len(block) == 1 and _byline(block[0].text) is None and _subhead(block[0].text) is None:
            _add(result, block[0], "headline")
            continue
        for lines, byline in _segments(block):
            _parse_segment(result, lines, byline)
    return result


# -- whole-input checks and decoding -------------------------------------------------------


def _decode(data: bytes | str, max_bytes: int) -> str:
    """Check size and encoding of ``data`` and return its text, BOM removed."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if isinstance(data, str):
        if _utf8_size(data, max_bytes) > max_bytes:
            raise InputRejected("too-large", f"the dump is more than the {max_bytes} bytes accepted")
        nul = data.find("\x00")
        if nul >= 0:
            raise InputRejected("binary", f"NUL character at offset {nul}", _line_at(data[:nul]))
        text = data
    elif isinstance(data, bytes):
        if len(data) > max_bytes:
            msg = f"the dump is {len(data)} bytes, more than the {max_bytes} accepted"
            raise InputRejected("too-large", msg)
        text = _decode_utf8(data)
    else:
        raise TypeError(f"parse_dump() takes bytes or str, not {type(data).__name__}")
    return text.removeprefix("\ufeff")


def _utf8_size(s: str, max_bytes: int) -> int:
    """Size of ``s`` in UTF-8; just its length when that alone decides against ``max_bytes``."""
    if len(s) > max_bytes or len(s) * 4 <= max_bytes:
        return len(s)  # a lower bound (each character takes 1 to 4 bytes), enough to decide
    return len(s.encode("utf-8", "surrogatepass"))


def _decode_utf8(data: bytes) -> str:
    """Decode strict UTF-8, rejecting NUL bytes; name the first bad byte."""
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad, what = exc.start, f"not UTF-8: byte 0x{data[exc.start]:02X}"
        if 0 <= nul < bad:
            bad, what = nul, "NUL byte"
        raise _binary(data, bad, what) from None
    if nul >= 0:
        raise _binary(data, nul, "NUL byte")
    return text


def _binary(data: bytes, offset: int, what: str) -> InputRejected:
    return InputRejected("binary", f"{what} at offset {offset}", _line_at(data[:offset].decode("latin-1")))


def _line_at(head: str) -> int:
    """1-based number of the line that starts after ``head`` (CRLF, CR and LF end lines)."""
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


# -- lines and blocks ----------------------------------------------------------------------


def _blocks(text: str) -> list[list[_Line]]:
    """Cut the cleaned text into blocks of non-blank lines, dropping separators.

    Every line is stripped here, so :func:`~wirefeed.feeds.stories.text.xml_safe` is enough: what
    :func:`~wirefeed.feeds.stories.text.clean_text` adds (stripping each line's end) would be done twice.
    """
    text = xml_safe(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    dashes, separator_chars = _DASHES, _SEPARATOR_CHARS
    for no, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line[0] in dashes and not line.strip(separator_chars):  # a separator
            if current:
                blocks.append(current)
                current = []
        else:
            current.append(_Line(no, line))
    if current:
        blocks.append(current)
    return blocks


def _segments(block: list[_Line]) -> Iterator[tuple[list[_Line], _Byline | None]]:
    """Cut a block after each byline: (lines before it, the byline) pairs."""
    lines: list[_Line] = []
    for line in block:
        found = _byline(line.text)
        if found is None:
            lines.append(line)
        else:
            yield lines, _Byline(line.no, *found)
            lines = []
    if lines:
        yield lines, None


# -- line kinds ----------------------------------------------------------------------------


def _byline(text: str) -> tuple[str, str] | None:
    """``(author, agency)`` when ``text`` is a byline ``Author--AGENCY``, else ``None``."""
    if "--" not in text or len(text) > PARSE_BYLINE_MAX_CHARS:
        return None
    m = _BYLINE.fullmatch(text)
    if m is None or "--" in m["author"] or m["author"].endswith("-"):
        return None
    return m["author"], m["agency"]


def _subhead(text: str) -> str | None:
    """The text of a subhead line ``- Text -``, else ``None``."""
    if len(text) < 5 or text[0] not in _DASHES or text[-1] not in _DASHES:
        return None
    if not (text[1].isspace() and text[-2].isspace()):
        return None
    return text[1:-1].strip()


def _is_headline_like(text: str) -> bool:
    """Short and without final sentence punctuation: may be a title (see module docstring)."""
    if len(text) > PARSE_HEADLINE_MAX_CHARS or _subhead(text) is not None:
        return False
    core = text.rstrip(_CLOSERS)
    if not core:
        return True
    if core[-1] == "?":
        return core == text  # a bare "?" ends a question headline, '?"' a quoted question
    return core[-1] not in _SENTENCE_END


# -- segments to stories -------------------------------------------------------------------


def _parse_segment(result: ParseResult, lines: list[_Line], byline: _Byline | None) -> None:
    """Turn one segment (lines up to and including a byline) into stories or an error."""
    if not lines:
        if byline is not None:
            _reject(result, "no-title", "a byline with no title before it", byline.no)
        return
    body_at = next((i for i, line in enumerate(lines) if not _is_headline_like(line.text)), None)
    if body_at is None:
        for line in lines[:-1]:
            _add(result, line, "headline")
        _add(result, lines[-1], "headline", byline=byline)
        return
    if body_at == 0:
        what = "a subhead" if _subhead(lines[0].text) is not None else "body text"
        _reject(result, "no-title", f"an article starts with {what}, not a title line", lines[0].no)
        return
    for line in lines[: body_at - 1]:
        _add(result, line, "headline")
    blocks = tuple(_block(line.text) for line in lines[body_at:])
    _add(result, lines[body_at - 1], "article", blocks, byline)


def _block(text: str) -> Block:
    sub = _subhead(text)
    return Block("p", text) if sub is None else Block("h", sub)


def _add(
    result: ParseResult,
    title: _Line,
    kind: StoryKind,
    blocks: tuple[Block, ...] = (),
    byline: _Byline | None = None,
) -> None:
    """Append a story, or a ``too-long-title`` error if its title is too long."""
    if len(title.text) > PARSE_MAX_TITLE_CHARS:
        msg = f"a title of {len(title.text)} characters, more than {PARSE_MAX_TITLE_CHARS}"
        _reject(result, "too-long-title", msg, title.no)
        return
    author, agency = (byline.author, byline.agency) if byline else (None, None)
    result.stories.append(new_parsed_story(title.text, kind, blocks, author, agency, title.no))


def _reject(result: ParseResult, reason: str, message: str, line: int) -> None:
    result.errors.append(InputRejected(reason, message, line))

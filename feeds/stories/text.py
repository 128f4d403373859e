"""Small pure text helpers: XML-safe cleaning and title normalisation for ids.

- :func:`clean_text` makes any text safe to put into an XML 1.0 document (RSS, Atom) and
  into JSON: it drops the characters XML 1.0 forbids, normalises to NFC and strips
  trailing whitespace from every line.
- :func:`normalise_title` folds a title to the key that story ids are derived from, so
  that a resend differing only in case, spacing, curly vs straight quotes or the kind of
  dash gets the same id.

Both are linear in the length of their input, also on hostile text: Unicode normalisation
sorts runs of combining marks with a quadratic sort, so such runs are capped first at
:data:`~wirefeed.config.defaults.TEXT_MAX_COMBINING_RUN` marks (no real script needs more).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from wirefeed.config.defaults import TEXT_MAX_COMBINING_RUN

XML_UNSAFE = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/U+FFFF)
or discourages (DEL and the C1 controls, which never mean anything in news text)."""

_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d", "-"),
    }
)
"""Curly quotes, primes and guillemets to straight quotes; every kind of dash to ``-``."""

_ASCII_FOLD = tuple((chr(k), v) for k, v in _FOLD.items() if k < 128)
"""The pairs of :data:`_FOLD` that change ASCII text (the backtick)."""


def clean_text(s: str) -> str:
    """Return ``s`` safe for XML 1.0: illegal characters removed, NFC, no trailing whitespace.

    Removed are the C0 controls except tab, LF and CR, U+FFFE, U+FFFF and lone surrogates.
    Trailing whitespace is stripped from every line (and so from the end of the text).
    """
    s = xml_safe(s)
    if "\n" not in s:
        return s.rstrip()
    return "\n".join(line.rstrip() for line in s.split("\n")).rstrip()


def xml_safe(s: str) -> str:
    """:func:`clean_text` without the whitespace stripping: XML-illegal characters removed, NFC."""
    return _normalize("NFC", XML_UNSAFE.sub("", s))


def normalise_title(s: str) -> str:
    """Return the comparison key of a title, from which story ids are derived.

    The title is cleaned, NFKC-normalised and case-folded; curly quotes become straight ones,
    dashes become ``-``, runs of whitespace become one space, and punctuation at either end
    is dropped. Titles that differ only in those respects give the same key.
    """
    s = _normalize("NFKC", clean_text(s)).casefold()
    if s.isascii():  # the usual case: a few characters to fold, edges stripped in one call
        for old, new in _ASCII_FOLD:
            s = s.replace(old, new)
        return " ".join(s.split()).strip(_ASCII_EDGE)
    return _strip_punctuation(" ".join(s.translate(_FOLD).split()))


def _normalize(form: str, s: str) -> str:
    """Unicode-normalise ``s`` in linear time (see the module docstring)."""
    if unicodedata.is_normalized(form, s):  # quick check: the usual, cheap case
        return s
    return unicodedata.normalize(form, _long_mark_runs().sub(r"\1", s))


@cache
def _long_mark_runs() -> re.Pattern[str]:
    """Regex finding runs of more than TEXT_MAX_COMBINING_RUN combining marks (built once, ~50 ms).

    A "mark" here is a character of non-zero combining class, or one whose decomposition
    starts with such a character: both end up in the runs that normalisation sorts.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x1F000):  # no combining mark lies above U+1EFFF
        c = chr(cp)
        if _is_mark(c):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    cls = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges)
    return re.compile(f"([{cls}]{{{TEXT_MAX_COMBINING_RUN}}})[{cls}]+")


def _is_mark(c: str) -> bool:
    """True for a character that normalisation may have to reorder."""
    if unicodedata.combining(c):
        return True
    if not unicodedata.decomposition(c):
        return False
    return any(unicodedata.combining(unicodedata.normalize(f, c)[0]) for f in ("NFD", "NFKD"))


def _strip_punctuation(s: str) -> str:
    """Drop whitespace and punctuation (Unicode category P*) at both ends of ``s``."""
    start, end = 0, len(s)
    while start < end and _is_edge(s[start]):
        start += 1
    while end > start and _is_edge(s[end - 1]):
        end -= 1
    return s[start:end]


def _is_edge(c: str) -> bool:
    return c.isspace() or unicodedata.category(c).startswith("P")


_ASCII_EDGE = "".join(c for c in map(chr, range(128)) if _is_edge(c))
"""The ASCII characters :func:`_strip_punctuation` drops."""

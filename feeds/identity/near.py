"""Near-duplicate titles: is an incoming story a new version of a stored one?

Two titles of one agency are versions of one story when the Jaccard similarity of their word
sets (case-folded; punctuation and a few stop words dropped) is at least ``NEAR_THRESHOLD``
and both have ``NEAR_MIN_WORDS`` words or more. Candidates among the stored stories are found
with MinHash LSH (``NEAR_BANDS`` bands of ``NEAR_ROWS`` hashes; a title shares a band bucket
with one at Jaccard J with probability ``1 - (1 - J**ROWS) ** BANDS``, 0.97 at J = 0.6), then
checked with the exact Jaccard, so the buckets cost recall, never precision. The settings are
in :mod:`wirefeed.config.defaults`; ``tests/test_near_buckets.py`` pins the bucket format.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

import numpy as np

from wirefeed.config import defaults
from wirefeed.config.defaults import (
    NEAR_BANDS,
    NEAR_MIN_WORDS,
    NEAR_MINHASH_CHUNK,
    NEAR_ROWS,
    NEAR_THRESHOLD,
)
from wirefeed.feeds.identity.memo import Memo

K = TypeVar("K")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9]+")
"""What :data:`_WORD` finds in case-folded ASCII text (where ``\\w`` is ``[a-z0-9_]``), faster."""
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "as",
        "is",
        "are",
        "was",
        "be",
        "from",
        "after",
        "over",
        "into",
        "its",
        "it",
        "s",
        "says",
        "say",
        "said",
    ]
)
_SEEDS = [zlib.crc32(f"wirefeed-minhash-{i}".encode()) for i in range(NEAR_BANDS * NEAR_ROWS)]
"""Start values of CRC-32: each seed gives one hash function of the MinHash family."""

_BAND_FORMAT = ("[" + ", ".join(["%d"] * NEAR_ROWS) + "]").encode()
"""How a band's MinHash values are spelled before hashing into a bucket: ``repr`` of the list."""


@lru_cache(maxsize=defaults.NEAR_TITLE_CACHE)
def words(title: str) -> frozenset[str]:
    """The comparison words of a title (memoised: see :data:`~wirefeed.config.defaults.NEAR_TITLE_CACHE`)."""
    folded = title.casefold()
    found = _ASCII_WORD.findall(folded) if folded.isascii() else _WORD.findall(folded)
    return frozenset(found).difference(_STOP)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def buckets(title: str) -> list[str]:
    """The LSH bucket of the title in each band (empty for titles too short to match)."""
    found = _BUCKETS.get(title)
    if found is None:
        found = buckets_of_words([words(title)])[0]
        _BUCKETS.put(title, found)
    return list(found)


def buckets_many(titles: Sequence[str]) -> list[tuple[str, ...]]:
    """:func:`buckets` of each title (as tuples), the ones not memoised computed together."""
    out = [_BUCKETS.get(title) for title in titles]
    missing = [title for title, found in zip(titles, out, strict=True) if found is None]
    if not missing:
        return out  # type: ignore[return-value]
    computed = dict(zip(missing, buckets_of_words([words(t) for t in missing]), strict=True))
    for title, found in computed.items():
        _BUCKETS.put(title, found)
    return [computed[t] if found is None else found for t, found in zip(titles, out, strict=True)]


def remember_buckets(title: str, title_buckets: Sequence[str]) -> None:
    """Memoise buckets of ``title`` computed elsewhere by :func:`buckets` (another process)."""
    _BUCKETS.put(title, tuple(title_buckets))


_BUCKETS: Memo[str, tuple[str, ...]] = Memo(defaults.NEAR_TITLE_CACHE)
"""Buckets of recently seen titles (a worker computes them for a batch, then again to save it)."""


def buckets_of_words(word_sets: Sequence[frozenset[str]]) -> list[tuple[str, ...]]:
    """The buckets (as :func:`buckets` gives them) of titles with these word sets; not memoised."""
    return [tuple([f"{h:08x}" for h in hashes]) for hashes in band_hashes(word_sets)]


def band_hashes(word_sets: Sequence[frozenset[str]]) -> list[list[int]]:
    """Each title's buckets as numbers (``int(bucket, 16)``), from its word set; ``[]`` for a
    title too short to match. Computed together: see :func:`minhash`."""
    out: list[list[int]] = [[]] * len(word_sets)
    todo = [n for n, ws in enumerate(word_sets) if len(ws) >= NEAR_MIN_WORDS]
    crc, fmt = zlib.crc32, _BAND_FORMAT
    for start in range(0, len(todo), NEAR_MINHASH_CHUNK):  # bounded memory for a dump of any size
        chunk = todo[start : start + NEAR_MINHASH_CHUNK]
        for n, mins in zip(chunk, minhash([word_sets[n] for n in chunk]), strict=True):
            it = [iter(mins)] * NEAR_ROWS
            out[n] = [crc(fmt % band) for band in zip(*it, strict=True)]
    return out


def minhash(word_sets: Sequence[frozenset[str]]) -> list[list[int]]:
    """The MinHash signature (one value per seed of :data:`_SEEDS`) of each non-empty word set.

    A word's hash under a seed is ``zlib.crc32(word, seed)``. CRC-32 is affine in its start
    value, so that equals ``zlib.crc32(word) ^ shift[len(word)][seed]``, where the shift
    depends only on the word's length in bytes (:func:`_seed_shifts`): one CRC per word, then
    an XOR and a minimum per title over an array of all the words.
    """
    if not all(word_sets):
        raise ValueError("minhash() of an empty word set")
    if not word_sets:
        return []
    encoded = [w.encode() for ws in word_sets for w in ws]
    lengths = [len(e) for e in encoded]
    hashes = _seed_shifts(max(lengths))[lengths]
    hashes ^= np.array([zlib.crc32(e) for e in encoded], dtype=np.uint32)[:, None]
    if len(word_sets) == 1:
        return [hashes.min(axis=0).tolist()]
    starts = np.zeros(len(word_sets), dtype=np.intp)
    np.cumsum([len(ws) for ws in word_sets[:-1]], out=starts[1:])
    mins: list[list[int]] = np.minimum.reduceat(hashes, starts, axis=0).tolist()
    return mins


_shifts = np.array([_SEEDS], dtype=np.uint32)
"""Row ``n``: what ``zlib.crc32(data, seed) ^ zlib.crc32(data)`` is for any ``n`` bytes of data."""


def _seed_shifts(max_len: int) -> np.ndarray:
    """:data:`_shifts` with at least ``max_len + 1`` rows (grown on demand, by doubling).

    ``crc32(data, s) ^ crc32(data)`` depends only on ``s`` and ``len(data)``: it is
    ``crc32(n zero bytes, s) ^ crc32(n zero bytes)``, ``s`` itself for ``n = 0``; one zero byte
    more maps a row ``r`` to ``crc32(b"\\0", r) ^ crc32(b"\\0")``.
    """
    global _shifts
    table = _shifts
    if len(table) > max_len:
        return table
    rows = table.tolist()
    one = zlib.crc32(b"\0")
    target = max(max_len + 1, 2 * len(rows))
    while len(rows) < target:
        rows.append([zlib.crc32(b"\0", r) ^ one for r in rows[-1]])
    _shifts = table = np.array(rows, dtype=np.uint32)
    return table


def best_match(title: str, candidates: Iterable[tuple[str, str]]) -> str | None:
    """The key of the candidate ``(key, title)`` most similar to ``title``, if any is similar enough."""
    return best_match_words(words(title), ((key, words(other)) for key, other in candidates))


def best_match_words(wt: frozenset[str], candidates: Iterable[tuple[K, frozenset[str]]]) -> K | None:
    """:func:`best_match` on word sets: the key of the candidate ``(key, words)`` most similar to
    ``wt`` (the last of equally similar ones), if any is similar enough."""
    if len(wt) < NEAR_MIN_WORDS:
        return None
    best, best_score = None, NEAR_THRESHOLD
    for key, wo in candidates:
        if len(wo) < NEAR_MIN_WORDS:
            continue
        score = jaccard(wt, wo)
        if score >= best_score:
            best, best_score = key, score
    return best

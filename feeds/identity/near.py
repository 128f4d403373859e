"""Near-duplicate titles: is an incoming story a new version of a stored one?

Two titles of one agency are versions of one story when the Jaccard similarity of their word
sets (case-folded; punctuation and a few stop words dropped) is at least ``NEAR_THRESHOLD``
and both have ``NEAR_MIN_WORDS`` words or more. Candidates among the stored stories are found
with MinHash LSH (``NEAR_BANDS`` bands of ``NEAR_ROWS`` hashes; a title shares a band bucket
with one at Jaccard J with probability ``1 - (1 - J**ROWS) ** BANDS``, 0.97 at J = 0.6), then
checked with the exact Jaccard, so the buckets cost recall, never precision. A pair that passes
is then checked by the identity rules (:mod:`.rules`: names, roles, directions, figures), which
veto a match of two different stories that share most of their words. The settings are
in :mod:`wirefeed.config.defaults`; ``tests/test_near_buckets.py`` pins the bucket format.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from wirefeed.config import defaults
from wirefeed.config.defaults import (
    NEAR_MIN_WORDS,
    NEAR_MINHASH_CHUNK,
    NEAR_ROWS,
    NEAR_THRESHOLD,
)
from wirefeed.feeds.identity import rules
from wirefeed.feeds.identity.lsh import _BAND_FORMAT, _SEEDS, _STOP, words
from wirefeed.feeds.identity.memo import Memo

__all__ = ["_SEEDS", "_STOP", "best_match", "best_match_words", "buckets", "jaccard", "words"]

K = TypeVar("K")

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


def best_match(
    title: str, candidates: Iterable[tuple[K, str]], older: Mapping[K, Sequence[str]] | None = None
) -> K | None:
    """The key of the candidate ``(key, title)`` most similar to ``title`` (the last of equally
    similar ones), if any is similar enough and no identity rule (:mod:`.rules`) tells them
    apart, nor tells ``title`` apart from any of the candidate's ``older`` titles (its earlier
    versions: a story cannot drift, one compatible resend at a time, into another)."""
    return best_match_words(title, words(title), ((k, o, words(o)) for k, o in candidates), older)


def best_match_words(
    title: str,
    wt: frozenset[str],
    candidates: Iterable[tuple[K, str, frozenset[str]]],
    older: Mapping[K, Sequence[str]] | None = None,
) -> K | None:
    """:func:`best_match` with the word sets computed already: ``wt`` of ``title``, and each
    candidate as ``(key, title, words)``."""
    if len(wt) < NEAR_MIN_WORDS:
        return None
    best, best_score = None, NEAR_THRESHOLD
    for key, other, wo in candidates:
        if len(wo) < NEAR_MIN_WORDS:
            continue
        score = jaccard(wt, wo)
        if score >= best_score and rules.same_story(title, other):
            if older and not all(rules.same_story(title, t) for t in older.get(key, ())):
                continue
            best, best_score = key, score
    return best

"""LSH buckets and near keys stay exactly what they were: they are stored in Redis as keys.

The bucket values below were written down from the first (per-seed CRC loop) implementation;
:func:`_reference_buckets` is that implementation, compared on many titles.
"""

from __future__ import annotations

import random
import re
import zlib

import pytest

from wirefeed.config.defaults import NEAR_BANDS, NEAR_MIN_WORDS, NEAR_ROWS
from wirefeed.feeds.identity import lsh, near
from wirefeed.feeds.identity.memo import Memo
from wirefeed.feeds.identity.versions import near_keys

GOLDEN = {
    "UK PM says Mandelson 'lied' about Epstein relations": [
        "64be8c3a", "7e0a23aa", "249d8ff8", "203d430b", "bf0c14cb", "7536c511", "396e2cc6", "b15cc379",
    ],
    "Drone strikes kill 23 in northern border town": [
        "4607db26", "b41eacff", "bbe952cf", "68facec3", "351f6a4d", "c90d2380", "8bbd3b65", "46d0f603",
    ],
    "Zürich bank posts record profit as Straße traffic falls": [
        "b13100f3", "ae813701", "827dcc48", "b0abab60", "17c7d2e0", "1f5631ed", "0818fe7a", "aebf1120",
    ],
    "Supercalifragilisticexpialidocious" * 3 + " long words here too": [
        "ed5c9172", "bdac529a", "800471c7", "e82f6b48", "db09ad9f", "89f89206", "8c190938", "9e9913f2",
    ],
    "Stocks fall": [],
}  # fmt: skip


def _reference_words(title: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[^\W_]+", title.casefold()) if w not in near._STOP)


def _reference_buckets(title: str) -> list[str]:
    """The straightforward MinHash: one CRC-32 per word and seed, the minimum per seed."""
    ws = _reference_words(title)
    if len(ws) < NEAR_MIN_WORDS:
        return []
    mins = [min(zlib.crc32(w.encode(), seed) for w in ws) for seed in near._SEEDS]
    return [
        format(zlib.crc32(repr(mins[band * NEAR_ROWS : (band + 1) * NEAR_ROWS]).encode()), "08x")
        for band in range(NEAR_BANDS)
    ]


def _titles(n: int, seed: int) -> list[str]:
    """Random titles: ASCII and non-ASCII words, stop words, words of up to 300 bytes."""
    rng = random.Random(seed)
    vocab = ["strike", "Kill", "the", "of", "Zürich", "Straße", "İstanbul", "ǅungla", "ﬁnance"]
    vocab += ["½", "23", "x_y", "\u212a", "ǅ", "ß", "Ǆ-ÿ"]
    vocab += ["".join(rng.choice("abcdéλж") for _ in range(rng.randint(1, 150))) for _ in range(40)]
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 16))) for _ in range(n)]


@pytest.mark.parametrize("title", list(GOLDEN))
def test_bucket_values_are_the_ones_stored_so_far(title: str) -> None:
    assert near.buckets(title) == GOLDEN[title]
    assert _reference_buckets(title) == GOLDEN[title]


def test_buckets_equal_the_straightforward_minhash_on_many_titles() -> None:
    titles = _titles(600, seed=3)
    assert [near.words(t) for t in titles] == [_reference_words(t) for t in titles]
    near._BUCKETS.clear()
    expected = [_reference_buckets(t) for t in titles]
    assert [near.buckets(t) for t in titles] == expected  # computed one at a time
    assert [near.buckets(t) for t in titles] == expected  # memoised
    near._BUCKETS.clear()
    assert [list(b) for b in near.buckets_many(titles)] == expected  # computed together
    assert [list(b) for b in near.buckets_of_words([near.words(t) for t in titles])] == expected


def test_remembered_buckets_are_what_buckets_gives() -> None:
    near.remember_buckets("Stocks fall", ["00000000"] * NEAR_BANDS)  # as if another process said so
    assert near.buckets("Stocks fall") == ["00000000"] * NEAR_BANDS
    near._BUCKETS.clear()
    assert near.buckets("Stocks fall") == []


def test_buckets_returns_a_fresh_list_each_time() -> None:
    title = next(iter(GOLDEN))
    near.buckets(title).clear()
    assert near.buckets(title) == GOLDEN[title]


def test_minhash_equals_crc32_with_each_seed_for_words_of_any_length() -> None:
    sets = [frozenset(["a", "é", "x" * 70, "y" * 1000, ""]), frozenset(["z" * 3000]), frozenset(["q"])]
    expected = [[min(zlib.crc32(w.encode(), s) for w in ws) for s in near._SEEDS] for ws in sets]
    assert near.minhash(sets) == expected  # together
    assert [near.minhash([ws])[0] for ws in sets] == expected  # one by one
    with pytest.raises(ValueError):
        near.minhash([frozenset()])


def test_best_match_picks_the_last_of_equally_similar_candidates() -> None:
    title = "Drone strikes kill 23 in northern border town"
    same = "Drone strikes kill 24 in northern border town"
    assert near.best_match(title, [("a", same), ("b", same), ("c", "Stocks fall")]) == "b"
    assert near.best_match(title, [("c", "Stocks fall")]) is None


def test_near_keys_of_several_titles_are_their_distinct_entries_in_order() -> None:
    titles = [*GOLDEN, next(iter(GOLDEN))]
    expected = tuple(
        dict.fromkeys((band, f"AFP:{b}") for t in titles for band, b in enumerate(_reference_buckets(t)))
    )
    assert near_keys("AFP", titles) == expected
    assert near_keys("AFP", titles[:1]) == expected[: NEAR_BANDS]
    assert near_keys("BTB", titles[1:2]) == tuple(
        (band, f"BTB:{b}") for band, b in enumerate(_reference_buckets(titles[1]))
    )


def test_memo_keeps_at_most_its_size_and_drops_the_oldest() -> None:
    memo: Memo[str, int] = Memo(2)
    for n, key in enumerate("abc"):
        memo.put(key, n)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (None, 1, 2, 2)
    Memo[str, int](0).put("a", 1)  # size 0: keeps nothing, fails nothing


def test_the_numpy_free_buckets_equal_the_batch_ones() -> None:
    """What an editor's split or merge (in the web process, without numpy) writes is what the
    pipeline looks up."""
    titles = [*GOLDEN, *_titles(300, seed=5)]
    assert [lsh.title_buckets(t) for t in titles] == [near.buckets(t) for t in titles]
    assert lsh.near_keys("AFP", titles[:3]) == near_keys("AFP", titles[:3])

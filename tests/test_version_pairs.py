"""Precision and recall of the version decision on a labelled pair set written for it.

``tests/data/version-pairs.tsv``: one pair of wire headlines a line, ``same`` (a resend of one
story: a changed figure, a rewording, added or dropped words, reordered clauses) or ``diff``
(two different stories that share most of their words: other roles, names, places, directions,
results, elections, markets, casualty reports). The decision is the one the categorizer makes
of a stored title (:func:`wirefeed.feeds.identity.near.best_match`). Targets (issue 11): at most
1% of the different-story pairs merged, at least 85% of the resends merged.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wirefeed.feeds.identity import near, rules

PAIRS = Path(__file__).parent / "data" / "version-pairs.tsv"


def _pairs() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, kind, a, b = line.split("\t")
            rows.append((label, kind, a, b))
    return rows


def merged(a: str, b: str) -> bool:
    """Would ``a`` arriving after ``b`` (stored) become a version of it?"""
    return near.best_match(a, [("stored", b)]) == "stored"


def test_the_pair_set_is_big_enough_and_well_formed() -> None:
    rows = _pairs()
    labels = Counter(label for label, *_ in rows)
    assert len(rows) >= 400
    assert labels["diff"] >= 200 and labels["same"] >= 150
    assert set(labels) == {"same", "diff"}
    assert len({(a, b) for _, _, a, b in rows}) == len(rows), "a pair is listed twice"
    assert all(a != b for _, _, a, b in rows)


def test_precision_and_recall_meet_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _pairs()
    wrong = [(kind, a, b) for label, kind, a, b in rows if label == "diff" and merged(a, b)]
    missed = [(kind, a, b) for label, kind, a, b in rows if label == "same" and not merged(a, b)]
    n_diff = sum(label == "diff" for label, *_ in rows)
    n_same = len(rows) - n_diff
    merged_same = n_same - len(missed)
    precision = merged_same / (merged_same + len(wrong))
    recall = merged_same / n_same
    with capsys.disabled():
        print(
            f"\nversion pairs: {len(wrong)}/{n_diff} different-story pairs merged "
            f"({100 * len(wrong) / n_diff:.1f}%), {merged_same}/{n_same} resends merged "
            f"(recall {100 * recall:.1f}%, precision {100 * precision:.1f}%)"
        )
        for kind, a, b in missed:
            print(f"  missed ({kind}, {rules.conflict(a, b) or 'not similar enough'}): {a!r} / {b!r}")
    assert not wrong or len(wrong) <= 0.01 * n_diff, f"different stories merged: {wrong}"
    assert recall >= 0.85


@pytest.mark.parametrize("kind", ["roles", "names", "directions", "negation", "figures"])
def test_each_rule_class_of_different_stories_is_told_apart(kind: str) -> None:
    rows = [(a, b) for label, k, a, b in _pairs() if label == "diff" and k == kind]
    assert rows
    assert [(a, b) for a, b in rows if merged(a, b) or merged(b, a)] == []


def test_the_decision_does_not_depend_on_which_title_came_first() -> None:
    rows = _pairs()
    assert [(a, b) for _, _, a, b in rows if merged(a, b) != merged(b, a)] == []

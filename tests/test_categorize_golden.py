"""Categorizer outputs pinned story by story: a speed-up must not change a single tag.

``tests/data/categorize-golden.jsonl`` holds the text of a few hundred generated wire stories
(``bench.gen.generate`` with seed 7: headlines, summaries, full bodies, repeated and non-ASCII
text) plus hand-written edge cases (quoted headline words, veto phrases, accents, control
characters, money amounts, empty text), each with the full list of tags -- slug, score and
reason -- that the shipped categorizer (rules + classifier) and the rules alone gave when the
file was written. The inputs are stored, not regenerated, so a change to the generator does not
move them.

Each story is tagged in a batch of many (``categorize_many``), and a sample alone
(``categorize``), so batching cannot change a story's tags either.

If a change of behaviour is intended (new rules, a retrained head), rewrite the tags (the stored
inputs stay) and review the diff::

    .venv/bin/python -m tests.test_categorize_golden --write
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wirefeed.feeds.categorize import Categorizer, RuleCategorizer, TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TopicTag

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ROOT / "config" / "topics.toml"
GOLDEN = ROOT / "tests" / "data" / "categorize-golden.jsonl"

BATCH = 100
"""Stories per ``categorize_many`` call."""

EDGE_CASES = [
    TaggingInput(""),
    TaggingInput("   \t "),
    TaggingInput("!!! ??? ..."),
    TaggingInput("'Flop' or \u201cheavy price\u201d: NBA All-Star game 'a disaster', says coach"),
    TaggingInput("Chipmaker warns on profit as AI demand slows", "Shares fell 9% to $4.2bn in value."),
    TaggingInput(
        "Z\u00fcrich caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00dcBER Stra\u00dfe",
        "S\u00e3o Paulo \u00e9lection",
    ),
    TaggingInput(
        "\u65e5\u672c \u682a\u4fa1 \u4e0a\u6607",
        "\u4e2d\u56fd \uc11c\uc6b8",
        "\u0645\u0631\u062d\u0628\u0627",
    ),
    TaggingInput("Hackers\x01 hit\x7f bank &amp; #39;ransomware&#39; <b>attack</b>", "", "x\x1fy  z\r\nq"),
    TaggingInput("Election: vote count", "Polls closed; the election commission counts votes.", ""),
    TaggingInput("title only", "", "A body with a ransomware attack.\nAnd a second ransomware line."),
    TaggingInput("KELVIN \u212a and long \u017f and dotted \u0130stanbul", "\u0130\u0131"),
]


def _tags(tags: list[TopicTag]) -> list[list[object]]:
    return [[t.slug, t.score, t.reason] for t in tags]


def _generated(n: int, seed: int) -> list[TaggingInput]:
    """Generated wire stories as the workers tag them, and some parsed ones (no summary)."""
    from bench.gen import generate
    from wirefeed.feeds.stories.build import build_story
    from wirefeed.feeds.stories.parse import parse_dump

    now = datetime(2024, 5, 1, tzinfo=UTC)
    parsed = parse_dump(generate(n, seed), max_bytes=10**8).stories
    stories = [
        build_story(p, story_id=str(i), agency="W", published=now, updated=now, source="x", summary_chars=280)
        for i, p in enumerate(parsed)
    ]
    return [TaggingInput.from_story(s) for s in stories] + [TaggingInput.from_story(p) for p in parsed[::4]]


def _run(items: list[TaggingInput], categorizer: Categorizer) -> list[list[TopicTag]]:
    out: list[list[TopicTag]] = []
    for k in range(0, len(items), BATCH):
        out.extend(categorizer.categorize_many(items[k : k + BATCH]))
    return out


def write(path: Path = GOLDEN) -> int:
    """Write the golden file with the current categorizers; return the number of stories.

    The stored inputs are kept (only their tags are rewritten); a new file gets generated ones."""
    taxonomy = Taxonomy.load(TOPICS)
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        items = [TaggingInput(r["title"], r["summary"], r["body"]) for r in rows]
    else:
        items = _generated(300, 7) + EDGE_CASES
    hybrid = _run(items, build_categorizer(taxonomy))
    rules = _run(items, RuleCategorizer(taxonomy))
    with path.open("w", encoding="utf-8") as f:
        for item, h, r in zip(items, hybrid, rules, strict=True):
            row = {
                "title": item.title,
                "summary": item.summary,
                "body": item.body,
                "tags": _tags(h),
                "rules": _tags(r),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(items)


# -- tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load(TOPICS)


def _items(golden: list[dict]) -> list[TaggingInput]:
    return [TaggingInput(row["title"], row["summary"], row["body"]) for row in golden]


def _diff(golden: list[dict], key: str, got: list[list[TopicTag]]) -> list[str]:
    return [
        f"{row['title']!r}:\n  want {row[key]}\n  got  {_tags(tags)}"
        for row, tags in zip(golden, got, strict=True)
        if _tags(tags) != row[key]
    ]


def test_golden_file_covers_bodies_summaries_and_edge_cases(golden: list[dict]) -> None:
    assert len(golden) >= 300
    assert sum(1 for r in golden if r["body"]) >= 50
    assert sum(1 for r in golden if r["summary"] and r["summary"] != r["title"]) >= 30
    assert sum(1 for r in golden if not r["title"].isascii()) >= 3
    assert {t[0] for r in golden for t in r["tags"]} >= {"world", "politics", "business", "sports"}


def test_hybrid_categorizer_outputs_are_unchanged(golden: list[dict], taxonomy: Taxonomy) -> None:
    misses = _diff(golden, "tags", _run(_items(golden), build_categorizer(taxonomy)))
    assert not misses, f"{len(misses)} stories tagged differently:\n" + "\n".join(misses[:10])


def test_rule_categorizer_outputs_are_unchanged(golden: list[dict], taxonomy: Taxonomy) -> None:
    misses = _diff(golden, "rules", _run(_items(golden), RuleCategorizer(taxonomy)))
    assert not misses, f"{len(misses)} stories tagged differently:\n" + "\n".join(misses[:10])


def test_one_story_at_a_time_gives_the_same_tags(golden: list[dict], taxonomy: Taxonomy) -> None:
    categorizer = build_categorizer(taxonomy)
    sample = golden[::7] + golden[-len(EDGE_CASES) :]
    got = [categorizer.categorize(item) for item in _items(sample)]
    misses = _diff(sample, "tags", got)
    assert not misses, f"{len(misses)} stories tagged differently:\n" + "\n".join(misses[:10])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Rewrite tests/data/categorize-golden.jsonl")
    p.add_argument("--write", action="store_true", help="rewrite the golden file from the current code")
    args = p.parse_args(argv)
    if not args.write:
        p.print_help()
        return 2
    print(f"wrote {write()} stories to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

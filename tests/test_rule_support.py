"""Every editor rule holds on real news, none is a phrase of the sample.

``tests/data/rule-support.json`` (written offline by ``models/build/rule_support.py`` from the TRAIN
parts of the real-news corpora; counts only) says, for every rule of ``config/topics.toml`` that
raises a topic, how many corpus items it matches and how often their label is the rule's topic
(or a related one: ``related_precision``), and how many sample stories it matches. The tests
check that the report describes the shipped rules (the sample counts are recomputed here), and:

- a rule that matches the sample must match at least :data:`MIN_MATCHES` corpus items with
  ``related_precision`` >= :data:`MIN_PRECISION`: no rule matches only in the sample;
- a rule that matches many corpus items (:data:`BROAD`) must be right at least
  :data:`MIN_BROAD_PRECISION` of the time (``author*`` matching "authorities" was not).

When the corpora are present, the report is also recomputed and compared (else one skip line).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.test_categorize import sample_items
from wirefeed.feeds.categorize.matcher import RuleMatcher
from wirefeed.feeds.categorize.taxonomy import Taxonomy

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ROOT / "config" / "topics.toml"
REPORT = ROOT / "tests" / "data" / "rule-support.json"
BUILD = ROOT / "models" / "build"

MIN_MATCHES = 2
MIN_PRECISION = 0.2
"""About twice the share of a typical topic among the corpora's labelled items."""
BROAD = 20
MIN_BROAD_PRECISION = 0.1


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(REPORT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load(TOPICS)


def _positive_rules(taxonomy: Taxonomy) -> list[str]:
    """Distinct rules (first spelling, taxonomy order) that raise some topic."""
    seen: dict[tuple[bool, str], tuple[str, bool]] = {}
    for t in taxonomy.topics.values():
        for rule in t.rules:
            text, positive = seen.get(rule.key, (rule.text, False))
            seen[rule.key] = (text, positive or rule.weight > 0)
    return [text for text, positive in seen.values() if positive]


def test_report_describes_the_shipped_rules(report: dict, taxonomy: Taxonomy) -> None:
    assert [r["rule"] for r in report["rules"]] == _positive_rules(taxonomy), (
        "config/topics.toml changed: rerun models/build/rule_support.py"
    )
    assert report["corpus_items"] >= 40_000


def test_sample_counts_are_current(report: dict, taxonomy: Taxonomy) -> None:
    matcher = RuleMatcher(list(taxonomy.topics.values()))
    hits: dict[str, int] = {}
    by_id = {}
    for t in taxonomy.topics.values():
        for rule in t.rules:
            by_id.setdefault(rule.key, rule.text)
    texts = list(by_id.values())
    for item in sample_items():
        for i in {i for i, _ in matcher.matches(f"{item.title}\n{item.body}")}:
            hits[texts[i]] = hits.get(texts[i], 0) + 1
    assert {r["rule"]: r["sample_matches"] for r in report["rules"]} == {
        r["rule"]: hits.get(r["rule"], 0) for r in report["rules"]
    }
    assert sum(1 for r in report["rules"] if r["sample_matches"]) >= 50  # the check has teeth


def test_no_rule_matches_only_in_the_sample(report: dict) -> None:
    bad = [
        f"{r['rule']} ({', '.join(r['topics'])}): {r['corpus_matches']} corpus matches, "
        f"precision {r['related_precision']}"
        for r in report["rules"]
        if r["sample_matches"]
        and (r["corpus_matches"] < MIN_MATCHES or r["related_precision"] < MIN_PRECISION)
    ]
    assert not bad, "rules that do not hold on real news:\n" + "\n".join(bad)


def test_broad_rules_are_mostly_right(report: dict) -> None:
    bad = [
        f"{r['rule']} ({', '.join(r['topics'])}): {r['corpus_matches']} matches, "
        f"precision {r['related_precision']}"
        for r in report["rules"]
        if r["corpus_matches"] >= BROAD and r["related_precision"] < MIN_BROAD_PRECISION
    ]
    assert not bad, "broad rules that are mostly wrong on real news:\n" + "\n".join(bad)


def test_report_matches_the_corpora(report: dict) -> None:
    sys.path.insert(0, str(BUILD))
    import corpora
    import rule_support

    if corpora.data_dir() is None:
        pytest.skip("real-news corpora (shared/data/news-topics) not here; the committed report is checked")
    assert rule_support.build() == report

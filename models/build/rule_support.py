"""How well each editor rule of ``config/topics.toml`` holds on real news: ``tests/data/rule-support.json``.

    .venv/bin/python models/build/rule_support.py            # writes the report
    .venv/bin/python models/build/rule_support.py --check    # recomputes, compares with the report

Offline (reads the real-news corpora, see :mod:`corpora`): for every positive rule, the number of
items of the corpora's TRAIN parts (title and summary) it matches and the share of those whose
label is the rule's top-level topic (or one its heading also covers) -- its *precision* --, the
share whose label is in the rule's news group (world or politics, sports, business, technology or
science), and the share whose label is the rule's topic or one :data:`RELATED` to it; also the
number of sample stories (``sample/wire-sample.txt``) it
matches. Matches are found with the categorizer's own :class:`RuleMatcher` (the longest match
wins, as in tagging). ``tests/test_rule_support.py`` reads the committed report: no rule may
match the sample without holding on the real corpora, and no rule may be mostly wrong on them.
The report holds counts only, no text of the corpora.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora  # noqa: E402

from wirefeed.feeds.categorize.evaluate import GROUPS  # noqa: E402
from wirefeed.feeds.categorize.matcher import RuleMatcher  # noqa: E402
from wirefeed.feeds.categorize.taxonomy import Taxonomy  # noqa: E402

TOPICS = ROOT / "config" / "topics.toml"
REPORT = ROOT / "tests" / "data" / "rule-support.json"


def rule_table(taxonomy: Taxonomy) -> list[dict]:
    """Distinct rules in the matcher's id order, each with the topics that list it (weight > 0)."""
    topics = list(taxonomy.topics.values())
    ids: dict[tuple[bool, str], int] = {}
    table: list[dict] = []
    for t in topics:
        for rule in t.rules:
            i = ids.get(rule.key)
            if i is None:
                i = ids[rule.key] = len(table)
                table.append({"rule": rule.text, "kind": rule.kind, "topics": {}})
            table[i]["topics"][t.slug] = rule.weight
    for row in table:
        row["top"] = sorted({_root(taxonomy, s) for s, w in row["topics"].items() if w > 0})
    return table


def _root(taxonomy: Taxonomy, slug: str) -> str:
    t = taxonomy.topics[slug]
    return t.ancestors[-1] if t.ancestors else slug


RELATED = {
    "technology": {"business", "science"},
    "science": {"technology", "health"},
    "health": {"science"},
    "world": {"politics"},
    "politics": {"world"},
}
"""Topics whose label a rule's topic shares its stories with on the corpora's headings: the portal
files company news (Google, chips) under business, climate under health and environment, and
elections abroad under politics."""


def related(tops: list[str]) -> set[str]:
    """The rule's top-level topics and the topics :data:`RELATED` to them."""
    return set(tops).union(*(RELATED.get(t, set()) for t in tops))


def support(taxonomy: Taxonomy, rows: list[dict], texts: list[str]) -> tuple[list[Counter], list[int]]:
    """Per rule id: Counter of ("ok" | "group" | "n") over matched rows; and sample match counts."""
    matcher = RuleMatcher(list(taxonomy.topics.values()))
    table = rule_table(taxonomy)
    counts = [Counter() for _ in table]
    for row in rows:
        allowed = {row["topic"], *row.get("also", [])}
        groups = {GROUPS.get(s) for s in allowed} - {None}
        hit = {i for i, _ in matcher.matches(row["title"])} | {i for i, _ in matcher.matches(row["summary"])}
        for i in hit:
            c = counts[i]
            c["n"] += 1
            c["ok"] += bool(allowed & set(table[i]["top"]))
            c["group"] += bool(groups & {GROUPS.get(s) for s in table[i]["top"]})
            c["related"] += bool(allowed & related(table[i]["top"]))
    sample = [0] * len(table)
    for text in texts:
        for i in {i for i, _ in matcher.matches(text)}:
            sample[i] += 1
    return counts, sample


def sample_texts() -> list[str]:
    from tests.test_categorize import sample_items

    return [f"{i.title}\n{i.body}" for i in sample_items()]


def build() -> dict:
    folder = corpora.data_dir()
    if folder is None:
        raise SystemExit("the real-news corpora are not there; set WIREFEED_NEWS_TOPICS")
    taxonomy = Taxonomy.load(TOPICS)
    rows = [r for parts in corpora.splits(folder).values() for r in parts["train"]]
    counts, sample = support(taxonomy, rows, sample_texts())
    out = []
    for row, c, s in zip(rule_table(taxonomy), counts, sample, strict=True):
        if not row["top"]:
            continue  # negative weights only: they lower a score, never give a topic
        out.append(
            {
                "rule": row["rule"],
                "kind": row["kind"],
                "topics": sorted(row["topics"]),
                "corpus_matches": c["n"],
                "precision": round(c["ok"] / c["n"], 3) if c["n"] else None,
                "group_precision": round(c["group"] / c["n"], 3) if c["n"] else None,
                "related_precision": round(c["related"] / c["n"], 3) if c["n"] else None,
                "sample_matches": s,
            }
        )
    return {
        "about": "Editor rules of config/topics.toml on the TRAIN parts of the real-news corpora "
        "(counts only); written by models/build/rule_support.py",
        "corpus_items": len(rows),
        "rules": out,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(build(), indent=0, ensure_ascii=False) + "\n"
    if args.check:
        same = REPORT.is_file() and REPORT.read_text(encoding="utf-8") == text
        print("report is up to date" if same else f"{REPORT} differs from a fresh run")
        return 0 if same else 1
    REPORT.write_text(text, encoding="utf-8")
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measuring a categorizer on labelled stories (the evaluation set in ``tests/data/eval-*.jsonl``).

Each line holds a story (``title``, ``summary``) with its main ``topic``, its ``also`` topics, its
benchmark ``group`` (:data:`GROUPS`) and, for a trap, why it is ``hard``; the format is in "The
evaluation set" of ``docs/categorizer.md``. A categorizer's group for a story is the group of the
first topic in its answer (best first) that belongs to one; a story with none counts as wrong.
Counted strictly (:meth:`Report.first_accuracy`), it is the group of the first top-level topic.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wirefeed.feeds.stories.model import TopicTag

GROUPS = {
    "world": "world",
    "politics": "world",
    "sports": "sports",
    "business": "business",
    "technology": "scitech",
    "science": "scitech",
}
"""Top-level topic -> benchmark group (world or politics; sports; business; technology or science)."""

GROUP_NAMES = ("world", "sports", "business", "scitech")


def read_eval(path: Path | str) -> list[dict[str, Any]]:
    """The labelled stories of one evaluation file."""
    text = Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def group_of(slugs: Iterable[str]) -> str | None:
    """Group of the first topic (best first) that has one."""
    return next((GROUPS[s] for s in slugs if s in GROUPS), None)


@dataclass
class Report:
    """Accuracy over groups, recall per group, confusion, and top-level tag precision."""

    n: int = 0
    correct: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(true group, predicted group or "none") -> stories."""
    hard: Counter[tuple[str, bool]] = field(default_factory=Counter)
    """(hard-case kind, correct?) -> stories."""
    topic_hits: Counter[str] = field(default_factory=Counter)
    """Top-level topic -> stories whose main topic it is and that carry it."""
    topic_total: Counter[str] = field(default_factory=Counter)
    tag_ok: Counter[str] = field(default_factory=Counter)
    """Top-level topic -> tags given that the labels allow (topic or also)."""
    tag_total: Counter[str] = field(default_factory=Counter)
    label_hits: int = 0
    """Labelled top-level topics (main and also) that the answers carry."""
    labels: int = 0
    tags: int = 0
    stories: int = 0
    misses: list[str] = field(default_factory=list)
    top_correct: int = 0
    """Stories whose first top-level topic is their main topic (or one of its ``also`` topics)."""
    covered: int = 0
    """Stories given at least one top-level topic (the rest: the categorizer abstained)."""
    first: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(true group, group of the FIRST top-level topic, or "none") -> stories: the strict count
    (a world story tagged crime first is wrong here, right in :attr:`confusion`)."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def top_accuracy(self) -> float:
        """Share of stories whose first top-level topic is right (abstaining counts as wrong)."""
        return self.top_correct / self.stories if self.stories else 0.0

    @property
    def coverage(self) -> float:
        """Share of stories given a top-level topic."""
        return self.covered / self.stories if self.stories else 0.0

    @property
    def precision_at_coverage(self) -> float:
        """Share of the stories given a top-level topic whose first one is right."""
        return self.top_correct / self.covered if self.covered else 0.0

    def recall(self, group: str) -> float:
        total = sum(v for (t, _), v in self.confusion.items() if t == group)
        return self.confusion[(group, group)] / total if total else 0.0

    def precision(self, group: str) -> float:
        total = sum(v for (_, p), v in self.confusion.items() if p == group)
        return self.confusion[(group, group)] / total if total else 0.0

    def first_accuracy(self) -> float:
        """Share of the grouped stories whose first top-level topic is of their group."""
        return sum(v for (t, p), v in self.first.items() if t == p) / self.n if self.n else 0.0

    def first_recall(self, group: str) -> float:
        total = sum(v for (t, _), v in self.first.items() if t == group)
        return self.first[(group, group)] / total if total else 0.0

    def min_recall(self) -> float:
        return min(self.recall(g) for g in GROUP_NAMES)

    def tag_precision(self) -> float:
        """Share of the top-level tags given that the labels allow (main topic or also)."""
        return sum(self.tag_ok.values()) / max(1, sum(self.tag_total.values()))

    def tag_recall(self) -> float:
        """Share of the labelled top-level topics (main topic and also) that are given."""
        return self.label_hits / max(1, self.labels)

    def tag_f1(self) -> float:
        p, r = self.tag_precision(), self.tag_recall()
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        recalls = ", ".join(f"{g} {self.recall(g):.1%}" for g in GROUP_NAMES)
        strict = ", ".join(f"{g} {self.first_recall(g):.1%}" for g in GROUP_NAMES)
        return (
            f"accuracy {self.accuracy:.1%} on {self.n} stories; recall: {recalls}; "
            f"by the first top-level topic: accuracy {self.first_accuracy():.1%}, recall: {strict}; "
            f"top-level tags: precision {self.tag_precision():.1%}, recall {self.tag_recall():.1%}; "
            f"{self.tags / max(1, self.stories):.2f} top-level tags per story; "
            f"first top-level topic right {self.top_accuracy:.1%}, coverage {self.coverage:.1%}, "
            f"precision at that coverage {self.precision_at_coverage:.1%}"
        )

    def tables(self) -> str:
        """Markdown tables: per group, confusion, per topic, hard cases."""
        lines = ["| group | stories | recall | precision |", "| --- | ---: | ---: | ---: |"]
        for g in GROUP_NAMES:
            total = sum(v for (t, _), v in self.confusion.items() if t == g)
            lines.append(f"| {g} | {total} | {self.recall(g):.1%} | {self.precision(g):.1%} |")
        preds = [*GROUP_NAMES, "none"]
        lines += ["", "| true \\ predicted | " + " | ".join(preds) + " |", "| --- |" + " ---: |" * len(preds)]
        for g in GROUP_NAMES:
            lines.append(f"| {g} | " + " | ".join(str(self.confusion[(g, p)]) for p in preds) + " |")
        lines += ["", "| topic | main-topic stories | carried (recall) | tags given | tag precision |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for t in sorted(self.topic_total, key=lambda t: -self.topic_total[t]):
            lines.append(
                f"| {t} | {self.topic_total[t]} | {self.topic_hits[t] / self.topic_total[t]:.1%} | "
                f"{self.tag_total[t]} | {self.tag_ok[t] / max(1, self.tag_total[t]):.1%} |"
            )
        kinds = sorted({k for k, _ in self.hard})
        if kinds:
            lines += ["", "| hard case | stories | group correct |", "| --- | ---: | ---: |"]
            for k in kinds:
                ok, bad = self.hard[(k, True)], self.hard[(k, False)]
                lines.append(f"| {k} | {ok + bad} | {ok / (ok + bad):.1%} |")
        return "\n".join(lines)


def evaluate(
    rows: Sequence[dict[str, Any]], answers: Sequence[Sequence[TopicTag]], top_level: set[str]
) -> Report:
    """Score ``answers`` (a categorizer's tags per row) against the labels of ``rows``."""
    report = Report()
    for row, tags in zip(rows, answers, strict=True):
        slugs = [t.slug for t in tags]
        allowed = {row["topic"], *row.get("also", [])}
        given = [s for s in slugs if s in top_level]
        report.stories += 1
        report.tags += len(given)
        for s in given:
            report.tag_total[s] += 1
            report.tag_ok[s] += s in allowed
        labelled = allowed & top_level
        report.labels += len(labelled)
        report.label_hits += len(labelled & set(given))
        report.covered += bool(given)
        report.top_correct += bool(given) and given[0] in allowed
        report.topic_total[row["topic"]] += 1
        report.topic_hits[row["topic"]] += row["topic"] in slugs
        if row.get("group") is None:
            continue
        pred = group_of(slugs)
        ok = pred == row["group"]
        report.n += 1
        report.correct += ok
        report.confusion[(row["group"], pred or "none")] += 1
        report.first[(row["group"], GROUPS.get(given[0], "none") if given else "none")] += 1
        if row.get("hard"):
            report.hard[(row["hard"], ok)] += 1
        if not ok:
            shown = ", ".join(f"{t.slug} {t.score:.2f}" for t in tags)
            report.misses.append(f"{row['group']} -> {pred}: {row['title']!r} [{shown}]")
    return report

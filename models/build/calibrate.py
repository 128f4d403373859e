"""Choosing the fusion settings of a trained head on the corpora's TUNE parts (step 3 of
``train_head.py``), with the real :class:`HybridCategorizer`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from token_tuning import Tables

from wirefeed.feeds.categorize import HybridCategorizer, TaggingInput
from wirefeed.feeds.categorize.classifier import TopicClassifier
from wirefeed.feeds.categorize.embed import StaticEmbedder
from wirefeed.feeds.categorize.evaluate import GROUP_NAMES, Report, evaluate
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TopicTag

RULE_WEIGHT_GRID = (0.0, 1.0, 2.0)
RULE_CAP = 1.0
FLOOR_GRID = (0.05, 0.2)
PROB_GRID = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""Candidate common ``min_probability`` (one for every topic), chosen first; then each topic's own
(:func:`per_topic`)."""
TOPIC_PROB_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""Candidate ``min_probability`` of one topic, tried after the common one is chosen."""
PROB_TIE = 0.001
"""Scores this close to the best count as a tie (about one story in a thousand on one measure)."""
OFFSET_GRID = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
"""Candidate logit offsets of one topic (``Fusion.offsets``), tried one topic at a time after the
common ``min_probability``; a value other than 0 must raise the score by more than
:data:`PROB_TIE`."""
RULE_WEIGHT_TOPIC_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
"""Candidate rule weights of one topic (``Fusion.rule_weights``: how much its rules add to its
logit), tried one topic at a time after the offsets; a value other than the common ``rule_weight``
must raise the score by more than :data:`PROB_TIE`."""
GUESS_GRID = (0.1, 0.15, 0.2)
"""Candidate ``min_guess`` values."""
NONE_GRID = (0.3, 0.4, 0.5, 0.7)
"""Candidate ``max_none`` values: the pair that leaves the most off-topic stories untagged while
the coverage of each corpus stays >= :data:`TARGET_COVERAGE` wins."""
TARGET_COVERAGE = 0.975
STRICT_GROUPS = True
"""Score a story's group by its first top-level topic (a world story tagged crime first is
wrong), as the real-news targets count it; False: by its first topic that has a group (rounds 1-4)."""
DEFAULT_MIN_PROBABILITY = 0.5



def start_fusion() -> dict[str, Any]:
    """The fusion settings calibration starts from (:func:`calibrate` then chooses them)."""
    return {
        "rule_weight": 1.0,
        "rule_cap": RULE_CAP,
        "rule_floor": 0.05,
        "min_probability": {},
        "default_min_probability": DEFAULT_MIN_PROBABILITY,
        "min_guess": 0.0,
        "max_none": 1.0,
    }

def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def classifier(embedder: StaticEmbedder, head: dict[str, Any], tables: Tables | None) -> TopicClassifier:
    """The classifier of a head and its tables, as the categorizer will load them (float16)."""
    tables_of = ("token_logits", "pair_logits")
    clf = TopicClassifier(embedder, {k: v for k, v in head.items() if k not in tables_of})
    if tables is not None:
        clf.token_logits = tables.tokens.astype(np.float16).astype(np.float32)
        if tables.pairs is not None:
            clf.set_pair_logits(tables.pairs.astype(np.float16).astype(np.float32))
    return clf


Fold = tuple[dict[str, Any], "Tables | None", list[dict]]
"""A model trained without some of our own stories, and those stories: (head, tables, rows)."""


class Tuner:
    """Answers of the real categorizer on the corpora's TUNE parts, for choosing the fusion.

    With ``folds``, also on our own stories, out of fold: each fold's stories are tagged by the
    model trained without them (``own`` in the reports), with the candidate fusion settings.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: StaticEmbedder,
        tune: dict[str, list[dict]],
        off: list[dict],
        folds: list[Fold] | None = None,
    ) -> None:
        self.taxonomy, self.embedder, self.tune = taxonomy, embedder, dict(tune)
        self.off = [TaggingInput(r["title"], r["summary"]) for r in off]
        self.top = {t.slug for t in taxonomy.top_level()}
        self.inputs = {c: [TaggingInput(r["title"], r["summary"]) for r in rows] for c, rows in tune.items()}
        self.folds = [
            (h, t, [TaggingInput(r["title"], r["summary"]) for r in rows]) for h, t, rows in folds or []
        ]
        if folds:
            self.tune["own"] = [r for _, _, rows in folds for r in rows]

    def answers(self, head: dict[str, Any], table: Tables | None) -> dict[str, list[list[TopicTag]]]:
        cat = HybridCategorizer(self.taxonomy, classifier(self.embedder, head, table))
        out = {c: cat.categorize_many(items) for c, items in self.inputs.items()}
        if self.folds:
            out["own"] = []
            for fold_head, fold_table, items in self.folds:
                fused = {**fold_head, "fusion": head["fusion"]}
                out["own"] += HybridCategorizer(
                    self.taxonomy, classifier(self.embedder, fused, fold_table)
                ).categorize_many(items)
        return out

    def off_topic_abstention(self, head: dict[str, Any], table: Tables | None) -> float:
        """Share of the off-topic tune stories (HuffPost's food, travel...) given no topic."""
        cat = HybridCategorizer(self.taxonomy, classifier(self.embedder, head, table))
        return sum(not tags for tags in cat.categorize_many(self.off)) / max(1, len(self.off))

    def reports(self, answers: dict[str, list[list[TopicTag]]]) -> dict[str, Report]:
        return {c: evaluate(self.tune[c], answers[c], self.top) for c in self.tune}

    def score(self, reports: dict[str, Report]) -> float:
        """Mean over the sources (corpora; our stories out of fold) of group accuracy, the mean of
        the four groups' recalls (the targets hold each group's recall, not only the accuracy
        that the big world group dominates), first-topic accuracy and tag F1. The group figures
        are counted by the first top-level topic (:data:`STRICT_GROUPS`), as the targets are."""
        total, strict = 0.0, STRICT_GROUPS
        for r in reports.values():
            accuracy, recall = (r.first_accuracy(), r.first_recall) if strict else (r.accuracy, r.recall)
            total += accuracy + sum(map(recall, GROUP_NAMES)) / len(GROUP_NAMES) + r.top_accuracy + r.tag_f1()
        return total / len(reports)


def per_topic(tuner: Tuner, head: dict[str, Any], table: Tables | None, labels: list[str]) -> None:
    """Then each topic's own ``min_probability``, one topic at a time: a value replaces the common
    one only if it raises the score by more than :data:`PROB_TIE` (the precision of the topic's
    extra tags counts in the score through tag F1, on the stories whose labels name several
    topics: our own, Wikipedia's health and environment items)."""
    fusion = head["fusion"]
    _per_topic(
        tuner,
        head,
        table,
        labels,
        values=fusion["min_probability"],
        grid=TOPIC_PROB_GRID,
        default=fusion["default_min_probability"],
        name="min_probability",
    )


def _per_topic(
    tuner: Tuner,
    head: dict[str, Any],
    table: Tables | None,
    labels: list[str],
    *,
    values: dict[str, float],
    grid: Sequence[float],
    default: float,
    name: str,
) -> None:
    """Try each value of ``grid`` for each topic of ``values`` (a missing topic has ``default``),
    one topic at a time: a value replaces the current one only if it raises the score by more
    than :data:`PROB_TIE`."""
    best = tuner.score(tuner.reports(tuner.answers(head, table)))
    for topic in labels:
        base = values.get(topic, default)
        for value in grid:
            if value == base:
                continue
            values[topic] = value
            s = tuner.score(tuner.reports(tuner.answers(head, table)))
            if s > best + PROB_TIE:
                best, base = s, value
                log(f"{name}[{topic}]={value}: {s:.4f}")
        values[topic] = base


def offsets(tuner: Tuner, head: dict[str, Any], table: Tables | None, labels: list[str]) -> None:
    """Each topic's logit offset, chosen one topic at a time (``head["fusion"]["offsets"]``)."""
    shift: dict[str, float] = head["fusion"].setdefault("offsets", {})
    _per_topic(tuner, head, table, labels, values=shift, grid=OFFSET_GRID, default=0.0, name="offset")
    head["fusion"]["offsets"] = {t: v for t, v in shift.items() if v}


def rule_weights(tuner: Tuner, head: dict[str, Any], table: Tables | None, labels: list[str]) -> None:
    """Each topic's own rule weight, chosen one topic at a time (``head["fusion"]["rule_weights"]``;
    a topic left out has the common ``rule_weight``)."""
    fusion = head["fusion"]
    common = fusion["rule_weight"]
    weights: dict[str, float] = fusion.setdefault("rule_weights", {})
    grid = RULE_WEIGHT_TOPIC_GRID
    _per_topic(tuner, head, table, labels, values=weights, grid=grid, default=common, name="rule_weight")
    fusion["rule_weights"] = {t: v for t, v in weights.items() if v != common}


def calibrate(
    tuner: Tuner,
    head: dict[str, Any],
    table: Tables | None,
    labels: list[str],
    *,
    use_offsets: bool = True,
    use_rule_weights: bool = True,
) -> None:
    """Choose the fusion settings in ``head["fusion"]`` on the tune parts (see the module docs)."""
    fusion = head["fusion"]
    fusion["min_guess"], fusion["max_none"] = 0.0, 1.0
    fusion["rule_weights"] = {}
    best: tuple[float, float, float] | None = None
    for rule_weight in RULE_WEIGHT_GRID:
        for floor in FLOOR_GRID:
            fusion["rule_weight"], fusion["rule_floor"] = rule_weight, floor
            reps = tuner.reports(tuner.answers(head, table))
            s = tuner.score(reps)
            log(
                f"rule_weight={rule_weight} floor={floor}: {s:.4f} "
                + " | ".join(f"{c} {r.accuracy:.1%}/{r.top_accuracy:.1%}" for c, r in reps.items())
            )
            if best is None or s > best[0] + 1e-9:
                best = (s, rule_weight, floor)
    assert best is not None
    fusion["rule_weight"], fusion["rule_floor"] = best[1], best[2]
    scored: list[tuple[float, float]] = []
    for prob in PROB_GRID:
        fusion["min_probability"] = {s: prob for s in labels}
        reps = tuner.reports(tuner.answers(head, table))
        scored.append((tuner.score(reps), prob))
        log(
            f"min_probability={prob}: {scored[-1][0]:.4f} "
            + " | ".join(
                f"{c} {r.accuracy:.1%}/{r.top_accuracy:.1%} tags {r.tag_precision():.1%}"
                for c, r in reps.items()
            )
        )
    top = max(score for score, _ in scored)
    # a lower threshold adds secondary tags; group accuracy counts any grouped tag, so it can edge
    # the score up while the tags get less precise: within PROB_TIE of the best, the strictest wins
    chosen = max(prob for score, prob in scored if score >= top - PROB_TIE)
    fusion["min_probability"] = {s: chosen for s in labels}
    fusion["default_min_probability"] = DEFAULT_MIN_PROBABILITY
    if use_offsets:
        offsets(tuner, head, table, labels)
    if use_rule_weights:
        rule_weights(tuner, head, table, labels)
    per_topic(tuner, head, table, labels)
    best_guess: tuple[float, float, float] | None = None
    for guess in GUESS_GRID:
        for none in NONE_GRID:
            fusion["min_guess"], fusion["max_none"] = guess, none
            reps = tuner.reports(tuner.answers(head, table))
            coverage = min(r.coverage for c, r in reps.items() if c != "own")
            off = tuner.off_topic_abstention(head, table)
            log(
                f"min_guess={guess} max_none={none}: off-topic abstain {off:.1%}; "
                + " | ".join(
                    f"{c} coverage {r.coverage:.1%} precision {r.precision_at_coverage:.1%}"
                    for c, r in reps.items()
                )
            )
            if coverage >= TARGET_COVERAGE and (best_guess is None or off > best_guess[0]):
                best_guess = (off, guess, none)
    fusion["min_guess"], fusion["max_none"] = (0.0, 1.0) if best_guess is None else best_guess[1:]

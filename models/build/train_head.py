"""Train the topic head (``models/topic-head.json``) on the TUNE split of the evaluation set.

    .venv/bin/python models/build/train_head.py            # writes models/topic-head.json
    .venv/bin/python models/build/train_head.py --check    # retrains, compares with the shipped file

Numpy only; runs in the project's own virtualenv in a few minutes on 2 cores. Deterministic: the
same data, taxonomy and embeddings give the same file.

1. Every story of ``tests/data/eval-tune.jsonl`` is embedded (mean token vector) as the
   categorizer will see it (title + summary), and once more as a bare headline (weight
   :data:`HEADLINE_WEIGHT`), because most wire items are headlines without a summary.
2. A multinomial logistic regression over the taxonomy's top-level topics is fitted (L2-
   regularised, full-batch Adam from zero) on soft targets: the story's main topic, plus each of
   its ``also`` topics at :data:`ALSO_GRID` weight (a health research story teaches "health, and
   some science").
3. The L2 strength, the ``also`` weight and the fusion settings (how much the editors' rules add to
   the classifier's logits; see ``docs/categorizer.md``) are chosen by 5-fold cross-validation,
   running the real :class:`~wirefeed.feeds.categorize.HybridCategorizer` on each held-out fold, every
   story both with its summary and as a bare headline: best group accuracy, then the smallest
   group recall, then top-level tag precision.
4. ``rule_floor`` (when the classifier may overrule a rule match) is chosen on the same answers by
   group accuracy + top-level tag F1, near-ties going to the more precise; then each topic's
   ``min_probability`` is the lowest value at which the classifier's extra tags for that topic
   (beyond a story's first) are right at least :data:`TARGET_PRECISION` of the time.

The TEST split is never read here: it is what bench/classify_bench.py and the tests report on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only add overhead

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from wirefeed.feeds.categorize import HybridCategorizer, TaggingInput  # noqa: E402
from wirefeed.feeds.categorize.classifier import HEAD_FORMAT, TopicClassifier, model_text  # noqa: E402
from wirefeed.feeds.categorize.embed import StaticEmbedder  # noqa: E402
from wirefeed.feeds.categorize.evaluate import Report, evaluate, read_eval  # noqa: E402
from wirefeed.feeds.categorize.taxonomy import Taxonomy  # noqa: E402
from wirefeed.feeds.stories.model import TopicTag  # noqa: E402

TUNE = ROOT / "tests" / "data" / "eval-tune.jsonl"
MODEL = ROOT / "models" / "minilm-static-256"
HEAD = ROOT / "models" / "topic-head.json"
TOPICS = ROOT / "config" / "topics.toml"

HEADLINE_WEIGHT = 0.5
"""Weight of the bare-headline copy of each training story."""
ALSO_GRID = (0.0, 0.25, 0.5)
"""Target weight of each ``also`` topic of a story (its main topic has 1; targets are normalised)."""
L2_GRID = (3e-4, 1e-3, 3e-3)
RULE_WEIGHT_GRID = (0.0, 1.0, 1.5, 2.0, 3.0)
RULE_CAP_GRID = (1.0,)
"""Rule evidence counts up to this many thresholds (2 was tried and never won: a long list of
matches is not more reliable than one decisive match)."""
FLOOR_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
"""Candidate floors, relative to the classifier's best topic, under which it overrules a rule match."""
NEAR_TIE = 0.005
"""Floors whose accuracy + F1 is this close to the best count as tied; the most precise wins."""
PROB_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)
"""Candidate probabilities for a topic the classifier gives on its own (the lowest precise one)."""
TARGET_PRECISION = 0.85
"""Share of a topic's classifier-given tags beyond a story's first that must be right."""
DEFAULT_MIN_PROBABILITY = 0.5
"""Stored for topics the head does not know (they are rules-only, so it is only a placeholder)."""
FOLDS = 5
ITERATIONS = 2000


def fit(x: np.ndarray, targets: np.ndarray, w: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression on soft targets, full-batch Adam from zero."""
    d, k = x.shape[1], targets.shape[1]
    weights, bias = np.zeros((d, k)), np.zeros(k)
    sw = (w / w.sum())[:, None]
    m_w, v_w, m_b, v_b = np.zeros_like(weights), np.zeros_like(weights), np.zeros(k), np.zeros(k)
    rate, b1, b2 = 0.01, 0.9, 0.999
    for t in range(1, ITERATIONS + 1):
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - targets) * sw
        g_w, g_b = x.T @ g + l2 * weights, g.sum(axis=0)
        m_w, v_w = b1 * m_w + (1 - b1) * g_w, b2 * v_w + (1 - b2) * g_w**2
        m_b, v_b = b1 * m_b + (1 - b1) * g_b, b2 * v_b + (1 - b2) * g_b**2
        c1, c2 = 1 - b1**t, 1 - b2**t
        weights -= rate * (m_w / c1) / (np.sqrt(v_w / c2) + 1e-8)
        bias -= rate * (m_b / c1) / (np.sqrt(v_b / c2) + 1e-8)
    return weights, bias


def head_dict(
    labels: list[str], weights: np.ndarray, bias: np.ndarray, sha: str, fusion: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": HEAD_FORMAT,
        "embeddings_sha256": sha,
        "labels": labels,
        "weights": [[float(f"{v:.5g}") for v in row] for row in weights.tolist()],
        "bias": [float(f"{v:.5g}") for v in bias.tolist()],
        "fusion": fusion,
    }


def base_fusion(rule_weight: float, rule_cap: float) -> dict[str, Any]:
    return {
        "rule_weight": rule_weight,
        "rule_cap": rule_cap,
        "rule_floor": 0.05,
        "min_probability": {},
        "default_min_probability": DEFAULT_MIN_PROBABILITY,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Trainer:
    """The tune stories, their features, and cross-validated answers of the real categorizer."""

    taxonomy: Taxonomy
    embedder: StaticEmbedder
    rows: list[dict[str, Any]]

    def __post_init__(self) -> None:
        self.labels = [t.slug for t in self.taxonomy.top_level()]
        self.top = set(self.labels)
        self.sha = self.embedder.meta["embeddings_sha256"]
        rows = self.rows
        full = self.embedder.embed([model_text(r["title"], r["summary"]) for r in rows], normalize=False)
        bare = self.embedder.embed([model_text(r["title"]) for r in rows], normalize=False)
        # features scaled to unit root-mean-square length, so one L2 grid fits any model; the
        # scale is folded into the stored weights (the categorizer reads the plain mean)
        self.scale = 1.0 / float(np.sqrt((full**2).sum(axis=1).mean()))
        self.full, self.bare = full * self.scale, bare * self.scale
        self.folds = np.arange(len(rows)) % FOLDS
        self.inputs = [TaggingInput(r["title"], r["summary"]) for r in rows] + [
            TaggingInput(r["title"]) for r in rows
        ]
        self.both = rows + rows
        """Each tune story twice: with its summary, and as a bare headline (answers line up)."""
        self._fold_heads: dict[tuple[float, float], list[tuple[np.ndarray, np.ndarray]]] = {}

    def targets(self, also_weight: float) -> np.ndarray:
        t = np.zeros((len(self.rows), len(self.labels)))
        for n, r in enumerate(self.rows):
            t[n, self.labels.index(r["topic"])] = 1.0
            for a in r.get("also", []):
                if a in self.top and a != r["topic"]:
                    t[n, self.labels.index(a)] = also_weight
        return t / t.sum(axis=1, keepdims=True)

    def train(self, mask: np.ndarray, l2: float, also_weight: float) -> tuple[np.ndarray, np.ndarray]:
        """Head weights (for the plain mean embedding) and bias, from the stories in ``mask``."""
        x = np.vstack([self.full[mask], self.bare[mask]])
        w = np.concatenate([np.ones(mask.sum()), np.full(mask.sum(), HEADLINE_WEIGHT)])
        t = self.targets(also_weight)[mask]
        weights, bias = fit(x, np.vstack([t, t]), w, l2)
        return weights * self.scale, bias

    def answers(self, key: tuple[float, float], fusion: dict[str, Any]) -> list[list[TopicTag]]:
        """The categorizer's answer for every input, each from the head that did not see it."""
        if key not in self._fold_heads:
            self._fold_heads[key] = [self.train(self.folds != f, *key) for f in range(FOLDS)]
        out: list[list[TopicTag]] = [[] for _ in self.inputs]
        for f, (weights, bias) in enumerate(self._fold_heads[key]):
            clf = TopicClassifier(self.embedder, head_dict(self.labels, weights, bias, self.sha, fusion))
            cat = HybridCategorizer(self.taxonomy, clf)
            idx = [i for i in range(len(self.inputs)) if self.folds[i % len(self.rows)] == f]
            for i, tags in zip(idx, cat.categorize_many([self.inputs[i] for i in idx]), strict=True):
                out[i] = tags
        return out

    def report(self, answers: list[list[TopicTag]]) -> Report:
        return evaluate(self.both, answers, self.top)

    def precision_of(
        self, answers: list[list[TopicTag]], pick: Callable[[TopicTag], bool]
    ) -> tuple[int, int]:
        """(right, given) over the picked top-level tags beyond each story's first."""
        ok = total = 0
        for row, tags in zip(self.both, answers, strict=True):
            allowed = {row["topic"], *row.get("also", [])}
            for tag in tags[1:]:
                if tag.slug in self.top and pick(tag):
                    total += 1
                    ok += tag.slug in allowed
        return ok, total


def search(tr: Trainer) -> tuple[tuple[float, float], dict[str, Any]]:
    """Head settings and fusion weights with the best cross-validated answers."""
    best: tuple[tuple[float, ...], tuple[float, float], dict[str, Any]] | None = None
    for key in [(l2, a) for l2 in L2_GRID for a in ALSO_GRID]:
        for rule_weight in RULE_WEIGHT_GRID:
            for rule_cap in RULE_CAP_GRID:
                fusion = base_fusion(rule_weight, rule_cap)
                rep = tr.report(tr.answers(key, fusion))
                rank = (round(rep.accuracy, 3), round(rep.min_recall(), 3), round(rep.tag_precision(), 3))
                log(f"l2={key[0]:g} also={key[1]} rule_weight={rule_weight} cap={rule_cap}: {rep.summary()}")
                if best is None or rank > best[0]:
                    best = (rank, key, fusion)
    assert best is not None
    return best[1], best[2]


def calibrate(tr: Trainer, key: tuple[float, float], fusion: dict[str, Any]) -> None:
    """Set ``rule_floor`` and the per-topic ``min_probability`` in ``fusion``."""
    floors: list[tuple[float, float, float]] = []
    for floor in FLOOR_GRID:
        fusion["rule_floor"] = floor
        answers = tr.answers(key, fusion)
        rep = tr.report(answers)
        ok, total = tr.precision_of(answers, lambda t: "; classifier 0" in t.reason)
        log(f"rule_floor={floor}: {rep.summary()}; extra rule-given tags {ok}/{total} right")
        floors.append((rep.accuracy + rep.tag_f1(), rep.tag_precision(), floor))
    best = max(f[0] for f in floors)
    fusion["rule_floor"] = max((f for f in floors if f[0] >= best - NEAR_TIE), key=lambda f: f[1])[2]

    min_prob: dict[str, float] = {}
    for prob in PROB_GRID:
        fusion["default_min_probability"] = prob
        fusion["min_probability"] = {}
        answers = tr.answers(key, fusion)
        for slug in tr.labels:
            if slug not in min_prob:
                ok, total = tr.precision_of(
                    answers, lambda t, s=slug: t.slug == s and t.reason.startswith("classifier:")
                )
                if total == 0 or ok / total >= TARGET_PRECISION:
                    min_prob[slug] = prob
        log(f"min_probability={prob}: calibrated {sorted(min_prob)}")
    fusion["min_probability"] = {s: min_prob.get(s, PROB_GRID[-1]) for s in tr.labels}
    fusion["default_min_probability"] = DEFAULT_MIN_PROBABILITY


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped head")
    ap.add_argument("--out", type=Path, default=HEAD)
    args = ap.parse_args()

    taxonomy = Taxonomy.load(TOPICS)
    rows = read_eval(TUNE)
    unknown = sorted({r["topic"] for r in rows} - {t.slug for t in taxonomy.top_level()})
    if unknown:
        log(f"{TUNE}: topics {unknown} are not top-level topics of {TOPICS}")
        return 1
    tr = Trainer(taxonomy, StaticEmbedder(MODEL), rows)
    key, fusion = search(tr)
    calibrate(tr, key, fusion)
    cv = tr.report(tr.answers(key, fusion))
    l2, also_weight = key
    log(f"chosen: l2={l2:g} also={also_weight} {json.dumps(fusion)}")
    log(f"cross-validated on tune: {cv.summary()}")

    weights, bias = tr.train(np.ones(len(rows), dtype=bool), l2, also_weight)
    head = head_dict(tr.labels, weights, bias, tr.sha, fusion)
    head["trained"] = {
        "data": str(TUNE.relative_to(ROOT)),
        "data_sha256": hashlib.sha256(TUNE.read_bytes()).hexdigest(),
        "stories": len(rows),
        "headline_copies_weight": HEADLINE_WEIGHT,
        "l2": l2,
        "also_weight": also_weight,
        "cv": "5-fold on tune, each story with its summary and as a bare headline",
        "cv_accuracy": round(cv.accuracy, 4),
        "cv_min_group_recall": round(cv.min_recall(), 4),
        "cv_tag_precision": round(cv.tag_precision(), 4),
        "cv_tag_recall": round(cv.tag_recall(), 4),
        "command": "python models/build/train_head.py",
    }
    text = json.dumps(head, separators=(",", ":")) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        log("head is up to date" if same else f"{args.out} differs from a fresh training run")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} ({len(text) / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

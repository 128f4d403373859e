"""Compare training and calibration variants on the TUNE parts (how models/README.md's tables were made).

    .venv/bin/python models/build/variants.py --variant base --cache /tmp/wf-variants
    .venv/bin/python models/build/variants.py --variant base --model /tmp/minilm-static-256 --no-offsets

Each variant is ``train_head.py``'s code with a few module constants changed (:data:`VARIANTS`),
over the embeddings of ``--model`` (another teacher: ``build_model.py --out``). It trains the
model and the out-of-fold models (cached in ``--cache``, so calibration variants reuse them),
chooses the fusion as ``train_head.py`` does (``--no-offsets``: without the logit offsets of
round 3) and prints the tune-part figures, our stories out of fold and the score.
Never reads a TEST part.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibrate as calibrate_module
import corpora
import train_head as th
from calibrate import Tuner, calibrate, start_fusion
from token_tuning import Tables

from wirefeed.feeds.categorize.classifier import NONE_LABEL
from wirefeed.feeds.categorize.embed import StaticEmbedder
from wirefeed.feeds.categorize.evaluate import GROUP_NAMES, evaluate, read_eval
from wirefeed.feeds.categorize.taxonomy import Taxonomy

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "round5": {"GROUP_WEIGHT": 0.5, "TOPIC_WEIGHT": {}},
    "own3": {"CORPUS_MASS": {"wikipedia": 1.0, "huffpost": 0.7, "own": 3.0}},
    "group-only": {"TOPIC_WEIGHT": {}},
    "business-only": {"GROUP_WEIGHT": 0.5},
}
"""Variant -> module constants of ``train_head`` that differ from the shipped build."""


def trained(
    name: str,
    args: argparse.Namespace,
    embedder: StaticEmbedder,
    *,
    labels: list[str],
    parts: dict,
    own: list,
) -> tuple[dict[str, Any], Tables, list[tuple[dict[str, Any], Tables, list[dict]]]]:
    """(head, tables, folds) of a variant: from the cache, or trained and cached."""
    cache: Path = args.cache / f"{name}-{args.model.name}"
    cache.mkdir(parents=True, exist_ok=True)
    for key, value in VARIANTS[name].items():
        setattr(th, key, value)
    sha = embedder.meta["embeddings_sha256"]
    opts = argparse.Namespace(head_only=False, recalibrate=False)
    folds_rows = th.own_folds(own)
    models = []
    for k in range(-1, len(folds_rows)):
        path = cache / f"model{k}.npz"
        if not path.is_file():
            rows = own if k < 0 else [r for j, f in enumerate(folds_rows) if j != k for r in f]
            w, b, t = th.train(opts, embedder, labels, parts, rows)
            assert t is not None and t.pairs is not None
            np.savez(path, w=w, b=b, tokens=t.tokens, pairs=t.pairs)
        z = np.load(path)
        head = th.head_dict(labels, z["w"], z["b"], sha, {})
        models.append((head, Tables(z["tokens"], z["pairs"])))
    folds = [(h, t, rows) for (h, t), rows in zip(models[1:], folds_rows, strict=True)]
    return models[0][0], models[0][1], folds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="base")
    ap.add_argument("--model", type=Path, default=th.MODEL, help="embedding model folder")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/wf-variants"))
    ap.add_argument("--no-offsets", action="store_true", help="calibrate without logit offsets")
    ap.add_argument("--lenient", action="store_true", help="score groups by the first topic that has one")
    ap.add_argument("--out", type=Path, help="write the calibrated fusion here (JSON)")
    args = ap.parse_args()

    calibrate_module.STRICT_GROUPS = not args.lenient
    taxonomy = Taxonomy.load(th.TOPICS)
    topics = [t.slug for t in taxonomy.top_level()]
    labels = [*topics, NONE_LABEL]
    embedder = StaticEmbedder(args.model)
    parts = corpora.splits(corpora.data_dir(), none=True)
    own = read_eval(th.TUNE)
    head, tables, folds = trained(args.variant, args, embedder, labels=labels, parts=parts, own=own)
    head["fusion"] = start_fusion()
    tune = {c: [r for r in p["tune"] if r["topic"] != NONE_LABEL] for c, p in parts.items()}
    off = [r for p in parts.values() for r in p["tune"] if r["topic"] == NONE_LABEL]
    tuner = Tuner(taxonomy, embedder, tune, off, folds)
    calibrate(tuner, head, tables, topics, use_offsets=not args.no_offsets)
    answers = tuner.answers(head, tables)
    reps = tuner.reports(answers)
    both = [r for c in ("wikipedia", "huffpost") for r in tune[c]]
    reps["both"] = evaluate(both, answers["wikipedia"] + answers["huffpost"], set(topics))
    print(f"variant {args.variant} model {args.model.name} offsets {not args.no_offsets}")
    print(json.dumps(head["fusion"]))
    print("| source | group | first topic | " + " | ".join(GROUP_NAMES) + " | tag precision | tags/story |")
    for c, r in reps.items():
        recalls = " | ".join(f"{r.recall(g):.1%}" for g in GROUP_NAMES)
        print(
            f"| {c} | {r.accuracy:.1%} | {r.top_accuracy:.1%} | {recalls} | {r.tag_precision():.1%} "
            f"| {r.tags / max(1, r.stories):.2f} |"
        )
    for c, r in reps.items():
        strict = " | ".join(f"{r.first_recall(g):.1%}" for g in GROUP_NAMES)
        print(f"| {c}, by the first top-level topic | {r.first_accuracy():.1%} | | {strict} | | |")
    print(f"score {tuner.score({c: r for c, r in reps.items() if c != 'both'}):.4f}")
    if args.out:
        args.out.write_text(json.dumps(head["fusion"]) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

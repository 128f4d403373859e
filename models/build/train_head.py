"""Train the topic model (``models/topic-head.json`` + ``models/topic-tokens.npy``) on real news.

    .venv/bin/python models/build/train_head.py            # writes the two files
    .venv/bin/python models/build/train_head.py --check    # retrains, compares with the shipped files
    .venv/bin/python models/build/train_head.py --head-only --out /tmp/head.json   # no token tuning

Numpy only, in the project's own virtualenv (a few minutes on one core). Deterministic. Needs the
real-news corpora (``shared/data/news-topics``, see :mod:`corpora`); they are read here, never at
run time.

Data: the TRAIN parts of both corpora (Wikipedia current events, CC BY-SA; HuffPost headlines,
CC0) plus our own wire-style stories (``tests/data/eval-tune.jsonl``), each story with its summary
and once more as a bare headline. Every source gets a fixed share of the total weight
(:data:`CORPUS_MASS`) and within it every class the same weight (class-balanced), so the 10,000
conflict items do not drown the 1,400 science ones; business stories weigh :data:`TOPIC_WEIGHT`
more. A story's ``also`` topics are targets beside its main topic (:data:`ALSO_WEIGHT`), and the
one that gives it its group as much as the main topic (:data:`GROUP_WEIGHT`: a court case abroad
is crime and world, counted as world). The classes are the taxonomy's top-level topics plus
``_none`` (HuffPost's off-topic categories: food, travel, weddings...).

1. A multinomial logistic-regression head over the mean static embedding, L2 regularised,
   mini-batch Adam from zero.
2. Token tuning: the head folded into the vocabulary (one row of logits per token, what the
   categorizer computes on load) is fine-tuned on the same data, with a light L2 pull back to the
   folded head (:data:`TOKEN_L2`), so words the corpora use in a topic (``earnings``, ``startup``,
   ``striker``) move towards it and unseen ones keep the embedding's opinion. The tuned table is
   shipped as ``topic-tokens.npy`` (float16, vocabulary x classes) and replaces the fold. With
   :data:`PAIR_BUCKETS`, a table of hashed adjacent-token pairs is learned at the same time and
   shipped as ``topic-pairs.npy`` (``token_tuning.py``).
3. On the TUNE parts of the corpora and, out of fold, on our own stories (split in
   :data:`OWN_FOLDS` parts; each part is tagged by a model trained the same way without it, so
   our stories, which are also training data, count in the choice without being seen by the
   model that tags them), with the real :class:`HybridCategorizer`: the fusion weights
   (how much the rules add; when the classifier overrules them), each topic's logit offset (the
   balance between neighbouring topics) and rule weight (how much its own rules add),
   ``min_probability`` (when the classifier adds a topic on its own), all by the same score,
   and the abstention pair ``min_guess`` /
   ``max_none`` that leaves the most off-topic tune headlines untagged while the coverage of each
   corpus stays >= ``calibrate.TARGET_COVERAGE`` (in ``calibrate.py``).

The TEST parts (and ``tests/data/eval-test.jsonl``) are never read here: the classify bench and
the tests report on them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only add overhead

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora  # noqa: E402
from calibrate import Fold, Tuner, calibrate, start_fusion  # noqa: E402
from token_tuning import Tables, TokenTuning, adam, batches, softmax_grad, tune_tokens  # noqa: E402

from wirefeed.feeds.categorize.classifier import (  # noqa: E402
    HEAD_FORMAT,
    NONE_LABEL,
    model_text,
)
from wirefeed.feeds.categorize.embed import StaticEmbedder  # noqa: E402
from wirefeed.feeds.categorize.evaluate import GROUPS, read_eval  # noqa: E402
from wirefeed.feeds.categorize.taxonomy import Taxonomy  # noqa: E402

TUNE = ROOT / "tests" / "data" / "eval-tune.jsonl"
MODEL = ROOT / "models" / "mpnet-static-256"
HEAD = ROOT / "models" / "topic-head.json"
TOKENS_NAME = "topic-tokens.npy"
TOPICS = ROOT / "config" / "topics.toml"

CORPUS_MASS = {"wikipedia": 1.0, "huffpost": 0.7, "own": 2.0}
"""Share of the training weight of each source (ours: the wire-style eval-tune stories)."""
TOPIC_WEIGHT: dict[str, float] = {"business": 1.5}
"""Extra weight of a topic's stories in every source (1 if not listed; business since round 6)."""
HEADLINE_WEIGHT = 0.5
"""Weight of the bare-headline copy of a story that has a summary."""
ALSO_WEIGHT = 0.5
"""Target weight of each ``also`` topic of a story (its main topic has 1; targets are normalised)."""
GROUP_WEIGHT = 1.0
"""Target weight of the ``also`` topic that gives a story its ``group`` when its main topic has
none (a court case abroad: crime, also world, counted as world)."""
L2 = 1e-4
BATCH = 2048
"""Stories per mini-batch (Adam)."""
HEAD_EPOCHS = 12
HEAD_RATE = 0.005
TOKEN_L2 = 1e-7
"""Pull of each token's tuned logits back to the folded head's (per token occurrence mass)."""
TOKEN_EPOCHS = 20
TOKEN_RATE = 0.02
PAIR_BUCKETS = 262_144
"""Buckets of the hashed token-pair table (0: none; ``token_tuning.py``)."""
PAIR_L2 = 1e-6
"""Pull of each pair bucket's logits back to zero."""
PAIRS_NAME = "topic-pairs.npy"
OWN_FOLDS = 2
"""Our stories are split in this many parts for choosing the fusion out of fold."""
OWN_FOLD_SEED = 1717


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Data:
    """Training stories as token-id lists, with weights and soft targets."""

    def __init__(self, embedder: StaticEmbedder, labels: list[str], sources: dict[str, list[dict]]) -> None:
        texts: list[str] = []
        weights: list[float] = []
        rows: list[dict] = []
        for name, src in sources.items():
            counts = Counter(r["topic"] for r in src)
            per_topic = CORPUS_MASS[name] / len(counts)
            for r in src:
                w = per_topic * TOPIC_WEIGHT.get(r["topic"], 1.0) / counts[r["topic"]]
                texts.append(model_text(r["title"], r["summary"]))
                weights.append(w)
                rows.append(r)
                if r["summary"]:
                    texts.append(model_text(r["title"]))
                    weights.append(w * HEADLINE_WEIGHT)
                    rows.append(r)
        self.ids = [embedder.ids(t) for t in texts]
        keep = [n for n, i in enumerate(self.ids) if i]
        self.ids = [self.ids[n] for n in keep]
        self.weights = np.array([weights[n] for n in keep], dtype=np.float32)
        self.weights /= self.weights.sum()
        self.targets = np.zeros((len(keep), len(labels)), dtype=np.float32)
        for k, n in enumerate(keep):
            r = rows[n]
            self.targets[k, labels.index(r["topic"])] = 1.0
            for a in r.get("also", []):
                if a in labels and a != r["topic"]:
                    self.targets[k, labels.index(a)] = ALSO_WEIGHT
            if r.get("group") and GROUPS.get(r["topic"]) != r["group"]:
                carrier = next((a for a in r.get("also", []) if GROUPS.get(a) == r["group"]), None)
                if carrier in labels:
                    self.targets[k, labels.index(carrier)] = GROUP_WEIGHT
        self.targets /= self.targets.sum(axis=1, keepdims=True)
        lengths = np.array([len(i) for i in self.ids])
        self.flat = np.concatenate([np.asarray(i, dtype=np.int64) for i in self.ids])
        self.starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=self.starts[1:])
        self.inv_len = (1.0 / lengths).astype(np.float32)
        self.mean = embedder.embed_ids(self.ids, normalize=False)
        log(f"training stories (with headline copies): {len(self.ids)}, tokens {len(self.flat)}")


def fit_head(data: Data, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression over the mean embedding (features scaled to unit RMS length)."""
    scale = 1.0 / float(np.sqrt((data.mean**2).sum(axis=1).mean()))
    x = (data.mean * scale).astype(np.float32)
    weights, bias = np.zeros((x.shape[1], k), dtype=np.float32), np.zeros(k, dtype=np.float32)
    step = adam([weights, bias], HEAD_RATE)
    n = len(x)
    for epoch in range(HEAD_EPOCHS):
        for b in batches(n, epoch, BATCH):
            share = len(b) / n
            g = softmax_grad(x[b] @ weights + bias, data.targets[b], data.weights[b] / share)
            step([x[b].T @ g + L2 * weights, g.sum(axis=0)])
        log(f"head: epoch {epoch}")
    return weights * scale, bias


def head_dict(
    labels: list[str], weights: np.ndarray, bias: np.ndarray, sha: str, fusion: dict[str, Any]
) -> dict[str, Any]:
    head = {
        "format": HEAD_FORMAT,
        "embeddings_sha256": sha,
        "labels": labels,
        "weights": [[float(f"{v:.5g}") for v in row] for row in weights.tolist()],
        "bias": [float(f"{v:.5g}") for v in bias.tolist()],
        "fusion": fusion,
    }
    return head


def own_folds(own: list[dict]) -> list[list[dict]]:
    """Our stories in :data:`OWN_FOLDS` parts (seeded by row), for out-of-fold calibration."""
    order = np.random.default_rng(OWN_FOLD_SEED).permutation(len(own))
    return [[own[i] for i in sorted(order[k::OWN_FOLDS])] for k in range(OWN_FOLDS)]


def tuning() -> TokenTuning:
    """The token-tuning settings (the module's constants)."""
    return TokenTuning(TOKEN_EPOCHS, TOKEN_RATE, TOKEN_L2, PAIR_BUCKETS, PAIR_L2, BATCH)


def train(
    args: argparse.Namespace, embedder: StaticEmbedder, labels: list[str], parts: dict, own: list[dict]
) -> tuple[np.ndarray, np.ndarray, Tables | None]:
    """Head weights, bias and tables trained on the corpora's train parts and ``own``."""
    data = Data(embedder, labels, {**{c: p["train"] for c, p in parts.items()}, "own": own})
    weights, bias = fit_head(data, len(labels))
    log("head fitted")
    if args.head_only:
        return weights, bias, None
    table0 = np.asarray(embedder.matrix, dtype=np.float32) @ weights.astype(np.float32)
    tables, bias = tune_tokens(data, table0, bias, tuning())
    return weights, bias, tables


def learn(
    args: argparse.Namespace, embedder: StaticEmbedder, labels: list[str], parts: dict, own: list[dict]
) -> tuple[np.ndarray, np.ndarray, Tables | None]:
    """Head weights, bias and tables: trained, or the shipped ones (``--recalibrate``)."""
    if args.recalibrate:  # after editing the rules: the fusion depends on them, the weights do not
        shipped = json.loads(args.out.read_text(encoding="utf-8"))
        weights, bias = np.asarray(shipped["weights"]), np.asarray(shipped["bias"], dtype=np.float32)
        table = np.load(args.out.with_name(TOKENS_NAME)).astype(np.float32)
        pairs = None
        if "pair_logits" in shipped:
            pairs = np.load(args.out.with_name(PAIRS_NAME)).astype(np.float32)
        return weights, bias, Tables(table, pairs)
    return train(args, embedder, labels, parts, own)


def fold_models(
    args: argparse.Namespace, embedder: StaticEmbedder, labels: list[str], parts: dict, own: list[dict]
) -> list[Fold]:
    """For each part of our stories, the model trained without it, and that part (the fusion is
    then chosen on our stories too, each tagged by a model that never saw it)."""
    folds = own_folds(own)
    out: list[Fold] = []
    for k, held in enumerate(folds):
        log(f"own-story fold {k + 1}/{len(folds)}")
        rest = [r for j, f in enumerate(folds) if j != k for r in f]
        weights, bias, table = train(args, embedder, labels, parts, rest)
        head = head_dict(labels, weights, bias, embedder.meta["embeddings_sha256"], {})
        out.append((head, table, held))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped files")
    ap.add_argument("--head-only", action="store_true", help="no token tuning (for comparison)")
    ap.add_argument(
        "--recalibrate",
        action="store_true",
        help="keep the shipped head and token table; choose the fusion again (still trains the folds)",
    )
    ap.add_argument("--out", type=Path, default=HEAD)
    args = ap.parse_args()

    folder = corpora.data_dir()
    if folder is None:
        log("the real-news corpora (shared/data/news-topics) are not there; set WIREFEED_NEWS_TOPICS")
        return 1
    taxonomy = Taxonomy.load(TOPICS)
    topics = [t.slug for t in taxonomy.top_level()]
    labels = [*topics, NONE_LABEL]
    assert corpora.NONE == NONE_LABEL
    embedder = StaticEmbedder(MODEL)
    parts = corpora.splits(folder, none=True)
    own = read_eval(TUNE)
    weights, bias, table = learn(args, embedder, labels, parts, own)
    fusion = start_fusion()
    sha = embedder.meta["embeddings_sha256"]
    head = head_dict(labels, weights, bias, sha, fusion)
    tune = {c: [r for r in p["tune"] if r["topic"] != NONE_LABEL] for c, p in parts.items()}
    off = [r for p in parts.values() for r in p["tune"] if r["topic"] == NONE_LABEL]
    tuner = Tuner(taxonomy, embedder, tune, off, fold_models(args, embedder, labels, parts, own))
    calibrate(tuner, head, table, topics)
    reps = tuner.reports(tuner.answers(head, table))
    for c, r in reps.items():
        log(f"tune {c}: {r.summary()}")

    out: Path = args.out
    blobs: dict[Path, bytes] = {}
    if table is not None:
        named = (("token_logits", TOKENS_NAME, table.tokens), ("pair_logits", PAIRS_NAME, table.pairs))
        for key, name, array in named:
            if array is None:
                continue
            buf = io.BytesIO()
            np.save(buf, array.astype(np.float16))
            blobs[out.with_name(name)] = buf.getvalue()
            head[key] = {"file": name, "sha256": hashlib.sha256(buf.getvalue()).hexdigest()}
    head["trained"] = {
        "data": {
            "wikipedia": f"{corpora.WIKIPEDIA} train part ({len(parts['wikipedia']['train'])} items; "
            "Wikipedia contributors, CC BY-SA 4.0)",
            "huffpost": f"{corpora.HUFFPOST} train part ({len(parts['huffpost']['train'])} headlines; "
            "Misra 2018, CC0)",
            "own": f"{TUNE.relative_to(ROOT)} ({len(own)} stories)",
        },
        "split": f"by row, numpy default_rng({corpora.SEED}), shares {corpora.SHARES}",
        "corpus_mass": CORPUS_MASS,
        "headline_copies_weight": HEADLINE_WEIGHT,
        "also_weight": ALSO_WEIGHT,
        "group_weight": GROUP_WEIGHT,
        "topic_weight": TOPIC_WEIGHT,
        "fusion_chosen_on": "tune parts of both corpora; our stories out of fold "
        f"({OWN_FOLDS} parts, numpy default_rng({OWN_FOLD_SEED}))",
        "l2": L2,
        "token_tuning": None
        if table is None
        else {
            "l2": TOKEN_L2,
            "epochs": TOKEN_EPOCHS,
            "rate": TOKEN_RATE,
            "pair_buckets": PAIR_BUCKETS,
            "pair_l2": PAIR_L2,
        },
        "tune": {
            c: {
                "group_accuracy": round(r.accuracy, 4),
                "topic_accuracy": round(r.top_accuracy, 4),
                "coverage": round(r.coverage, 4),
            }
            for c, r in reps.items()
        },
        "command": "python models/build/train_head.py",
    }
    text = json.dumps(head, separators=(",", ":")) + "\n"
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text
        same = same and all(path.is_file() and path.read_bytes() == blob for path, blob in blobs.items())
        log("model is up to date" if same else f"{out} (or its tables) differs from a fresh run")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    for path, blob in blobs.items():
        path.write_bytes(blob)
    stale = out.with_name(PAIRS_NAME)
    if stale not in blobs and stale.is_file():
        stale.unlink()  # a pair table the new head does not name
    sizes = "".join(f", {path} ({len(blob) / 1e6:.1f} MB)" for path, blob in blobs.items())
    log(f"wrote {out} ({len(text) / 1000:.0f} kB){sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

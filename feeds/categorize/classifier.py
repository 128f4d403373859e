"""The learned layer: a linear topic head over static sentence embeddings (numpy only).

A story's text (:func:`model_text`) is embedded with
:class:`~wirefeed.feeds.categorize.embed.StaticEmbedder` and a logistic-regression head gives one
logit per top-level topic it was trained on; as both steps are linear, the head is folded into the
vocabulary on load (one row of logits per token), or replaced by a tuned token table, and a
table of hashed adjacent-token pairs may add one row per token (:func:`pair_buckets`). The head
file (``models/topic-head.json``, written by ``models/build/train_head.py``) also carries the
:class:`Fusion` settings with which
:class:`~wirefeed.feeds.categorize.hybrid.HybridCategorizer` combines the logits with the rules.
Details: "The learned layer" in ``docs/categorizer.md``.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from wirefeed.config.defaults import CLASSIFIER_BODY_WORDS
from wirefeed.errors import ConfigError
from wirefeed.feeds.categorize.embed import StaticEmbedder

HEAD_FORMAT = "wirefeed-topic-head/1"
"""``format`` of a topic head file this code reads."""
NONE_LABEL = "_none"
"""Head label of "none of the topics" (off-topic stories seen in training): it takes its share of
the probability, so an off-topic story's topics stay unlikely; it is never given as a tag."""

_ENTITY = re.compile(r"&?#(\d{2,5});|&(?:quot|amp|lt|gt|apos|nbsp);")
"""Character references, also the mangled kind without '&' (``#39;``) seen in some wire feeds."""
_TAGS = re.compile(r"<[^<>]{0,300}>")
_WORD = re.compile(r"[^\W_]")
"""A letter or a digit: a text without one has no words for the classifier to read."""


def clean_for_model(text: str) -> str:
    """Text as the model should read it: character references decoded, HTML tags dropped."""
    if "#" in text or "&" in text:
        text = _ENTITY.sub(_decode_entity, text)
    if "<" in text:
        text = _TAGS.sub(" ", text)
    return text


def _decode_entity(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        code = int(m.group(1))
        return chr(code) if 32 <= code < 0x110000 and code != 0x7F else " "
    return html.unescape(m.group())


def model_text(title: str, summary: str = "", body: str = "") -> str:
    """The text the classifier reads: title and summary, or the body's start if no summary."""
    # str.split() splits on exactly the characters regex \s matches, so this is the parts
    # joined, every run of whitespace made one space and the ends stripped
    words = title.split()
    if summary:
        words += summary.split()
    elif body:
        words += body.split(None, CLASSIFIER_BODY_WORDS)[:CLASSIFIER_BODY_WORDS]
    return clean_for_model(" ".join(words))


@dataclass(frozen=True)
class Fusion:
    """How the head's logits and the rules combine (fitted with the head; see the module docs)."""

    rule_weight: float
    rule_cap: float
    rule_floor: float
    min_probability: dict[str, float]
    default_min_probability: float
    min_guess: float = 0.0
    """A story no rule tags gets the classifier's best topic only from this probability on;
    under it the story gets no topic at all (it is still in ``all``)."""
    max_none: float = 1.0
    """... and only while the probability of "none of the topics" stays under this."""
    offsets: dict[str, float] = field(default_factory=dict)
    """Per topic, a constant added to its logit before the softmax (calibrated on the tune parts:
    it moves the balance between neighbouring topics, e.g. business against world)."""
    rule_weights: dict[str, float] = field(default_factory=dict)
    """Per topic, its own ``rule_weight`` (how much its rule evidence adds to its logit), where it
    differs from the common one (calibrated on the tune parts)."""


class TopicClassifier:
    """Embedding model + linear head: logits per top-level topic for a batch of stories."""

    def __init__(
        self,
        embedder: StaticEmbedder,
        head: dict[str, Any],
        source: str = "<head>",
        tokens: np.ndarray | None = None,
        pairs: np.ndarray | None = None,
    ) -> None:
        self.embedder = embedder
        self.source = source
        if head.get("format") != HEAD_FORMAT:
            got = head.get("format")
            raise ConfigError(f"{source}: not a topic head (format {got!r}, want {HEAD_FORMAT!r})")
        want = embedder.meta.get("embeddings_sha256")
        if head.get("embeddings_sha256") != want:
            raise ConfigError(
                f"{source} was trained on other embeddings than {embedder.folder}; "
                "retrain it with models/build/train_head.py"
            )
        try:
            self.labels: list[str] = [str(s) for s in head["labels"]]
            self.weights = np.asarray(head["weights"], dtype=np.float32)
            self.bias = np.asarray(head["bias"], dtype=np.float32)
            fusion = head["fusion"]
            self.fusion = Fusion(
                rule_weight=float(fusion["rule_weight"]),
                rule_cap=float(fusion["rule_cap"]),
                rule_floor=float(fusion["rule_floor"]),
                min_probability={str(k): float(v) for k, v in fusion["min_probability"].items()},
                default_min_probability=float(fusion["default_min_probability"]),
                min_guess=float(fusion.get("min_guess", 0.0)),
                max_none=float(fusion.get("max_none", 1.0)),
                offsets={str(k): float(v) for k, v in fusion.get("offsets", {}).items()},
                rule_weights={str(k): float(v) for k, v in fusion.get("rule_weights", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: malformed topic head: {exc!r}") from None
        if self.weights.shape != (embedder.dims, len(self.labels)) or self.bias.shape != (len(self.labels),):
            raise ConfigError(
                f"{source}: weights {self.weights.shape} / bias {self.bias.shape} do not fit "
                f"{embedder.dims} dimensions and {len(self.labels)} labels"
            )
        if tokens is None:
            self.token_logits = np.asarray(embedder.matrix, dtype=np.float32) @ self.weights
            """Vocabulary x labels: each token's contribution to a story's logits (mean over tokens)."""
        elif tokens.shape != (len(embedder.matrix), len(self.labels)):
            raise ConfigError(
                f"{source}: token logits {tokens.shape} do not fit {len(embedder.matrix)} tokens "
                f"and {len(self.labels)} labels"
            )
        else:  # the fold, fine-tuned on labelled stories (models/build/train_head.py)
            self.token_logits = np.asarray(tokens, dtype=np.float32)
        self.pair_logits: np.ndarray | None = None
        """Buckets (+ a last row of zeros) x labels, float16 (as shipped; half the memory): each
        hashed pair of adjacent tokens' contribution (:func:`pair_buckets`), or None."""
        if pairs is not None:
            if pairs.ndim != 2 or pairs.shape[1] != len(self.labels) or len(pairs) < 1:
                raise ConfigError(f"{source}: pair logits {pairs.shape} do not fit {len(self.labels)} labels")
            self.set_pair_logits(pairs)

    def set_pair_logits(self, pairs: np.ndarray) -> None:
        """Use ``pairs`` (buckets x labels) as the token-pair table (a row of zeros is appended:
        the bucket of a story's last token, which has no successor)."""
        zero = np.zeros((1, pairs.shape[1]), dtype=np.float16)
        self.pair_logits = np.concatenate([np.asarray(pairs, dtype=np.float16), zero])

    @classmethod
    def load(cls, model_dir: Path | str, head_path: Path | str) -> TopicClassifier:
        """Load the embedding model folder and the head file; :class:`ConfigError` if either is bad."""
        head_path = Path(head_path)
        embedder = StaticEmbedder(model_dir)
        try:
            head = json.loads(head_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"topic head {head_path} is missing; it ships in the repository "
                "(rebuild: python models/build/train_head.py)"
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"topic head {head_path} cannot be read: {exc}") from None
        tokens = _table(head, "token_logits", head_path)
        pairs = _table(head, "pair_logits", head_path)
        return cls(embedder, head, source=str(head_path), tokens=tokens, pairs=pairs)

    def logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(logits (n, labels), has_words (n,))``: a text with no known word (or no letter or
        digit at all) has no opinion (its logits are not to be used)."""
        ids = [self.embedder.ids(t) for t in texts]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        has_tokens = lengths > 0
        out = np.tile(self.bias, (len(ids), 1))
        if has_tokens.any():
            flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
            kept = lengths[has_tokens]
            starts = np.zeros(len(kept), dtype=np.int64)
            np.cumsum(kept[:-1], out=starts[1:])
            rows = self.token_logits[flat]
            if self.pair_logits is not None:
                rows += self.pair_logits[pair_buckets(flat, starts, len(self.pair_logits) - 1)]
            sums = np.add.reduceat(rows, starts, axis=0)
            out[has_tokens] += sums / kept[:, None]
        # punctuation alone ("!!! ???") is no evidence either, whatever its tokens' logits
        wordy = np.fromiter((_WORD.search(t) is not None for t in texts), dtype=bool, count=len(ids))
        return out, has_tokens & wordy


def pair_buckets(flat: np.ndarray, starts: np.ndarray, buckets: int) -> np.ndarray:
    """For each token of the concatenated stories ``flat`` (each story starting at ``starts``),
    the hash bucket of the pair it forms with the next token of its story; ``buckets`` (the
    zero row) for each story's last token. The hash is part of the model format."""
    nxt = np.empty_like(flat)
    nxt[:-1] = flat[1:]
    out = (flat * PAIR_HASH + nxt) % buckets
    out[starts[1:] - 1] = buckets
    out[-1] = buckets
    return out


_TABLE_NAMES = {"token_logits": "token table", "pair_logits": "pair table"}
PAIR_HASH = 1_000_003
"""Multiplier of the token-pair hash, ``(first * PAIR_HASH + second) % buckets`` (model format)."""


def _table(head: dict[str, Any], key: str, head_path: Path) -> np.ndarray | None:
    """A table the head names under ``key`` (``token_logits``: the tuned per-token logits;
    ``pair_logits``: the token-pair logits), a ``.npy`` file beside the head, checked against its
    SHA-256; None for a head without it; :class:`ConfigError` if missing or altered."""
    spec = head.get(key)
    if spec is None:
        return None
    name = _TABLE_NAMES[key]
    try:
        path = head_path.parent / str(spec["file"])
        blob = path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != spec["sha256"]:
            raise ConfigError(f"{path} is not the {name} {head_path} was trained with; retrain it")
        return np.load(io.BytesIO(blob), allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(f"{name} {path} of {head_path} is missing") from None
    except (KeyError, TypeError, OSError, ValueError) as exc:
        raise ConfigError(f"{head_path}: bad {name}: {exc!r}") from None

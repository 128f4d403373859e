"""Token tuning (step 2 of ``train_head.py``): the folded head's per-token logits, and a table of
hashed token pairs, fine-tuned on the labelled stories (numpy only, deterministic).

A story's logits are ``bias + (sum of its tokens' rows + sum of its token pairs' rows) / tokens``
-- what :class:`~wirefeed.feeds.categorize.classifier.TopicClassifier` computes at run time. The
token table starts at the fold and is pulled back to it (``token_l2``); the pair table starts at
zero and is pulled back to zero (``pair_l2``), so a pair counts only where the corpora show it
says more than its two words (``interest rates``, ``world cup``, ``supreme court``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wirefeed.feeds.categorize.classifier import pair_buckets


@dataclass(frozen=True)
class TokenTuning:
    """The settings of one token tuning."""

    epochs: int
    rate: float
    token_l2: float
    pair_buckets: int = 0
    """Buckets of the token-pair table (0: no pair table)."""
    pair_l2: float = 0.0
    batch: int = 2048


@dataclass(frozen=True)
class Tables:
    """What token tuning learns: the per-token logits and, optionally, the token-pair logits."""

    tokens: np.ndarray
    pairs: np.ndarray | None = None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def softmax_grad(z: np.ndarray, targets: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Gradient of the weighted cross-entropy with respect to the logits ``z``."""
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return (p - targets) * sw[:, None]


def adam(params: list[np.ndarray], rate: float) -> Callable[[list[np.ndarray]], None]:
    """A closure applying Adam steps to ``params`` in place, given their gradients."""
    state = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    t = 0

    def step(grads: list[np.ndarray]) -> None:
        nonlocal t
        t += 1
        for param, g, (mean, var) in zip(params, grads, state, strict=True):
            mean *= 0.9  # noqa: PLW2901 (in place: the state arrays)
            mean += 0.1 * g  # noqa: PLW2901 (in place: the state arrays)
            var *= 0.999  # noqa: PLW2901 (in place: the state arrays)
            var += 0.001 * g * g  # noqa: PLW2901 (in place: the state arrays)
            param -= rate * (mean / (1 - 0.9**t)) / (np.sqrt(var / (1 - 0.999**t)) + 1e-8)  # noqa: PLW2901

    return step


class LazyAdam:
    """Adam on the rows of a large table that a batch touches (the others keep their moments)."""

    def __init__(self, table: np.ndarray, rate: float) -> None:
        self.table, self.rate = table, rate
        self.mean, self.var = np.zeros_like(table), np.zeros_like(table)
        self.t = 0

    def step(self, rows: np.ndarray, grad: np.ndarray) -> None:
        self.t += 1
        mean, var = self.mean[rows] * 0.9 + 0.1 * grad, self.var[rows] * 0.999 + 0.001 * grad * grad
        self.mean[rows], self.var[rows] = mean, var
        m_hat, v_hat = mean / (1 - 0.9**self.t), var / (1 - 0.999**self.t)
        self.table[rows] -= self.rate * m_hat / (np.sqrt(v_hat) + 1e-8)


def batches(n: int, epoch: int, size: int) -> list[np.ndarray]:
    """Mini-batches of story indices for one epoch (a fixed shuffle per epoch: deterministic)."""
    order = np.random.default_rng(epoch).permutation(n)
    return [order[k : k + size] for k in range(0, n, size)]


def tune_tokens(
    data: Any, table0: np.ndarray, bias0: np.ndarray, settings: TokenTuning
) -> tuple[Tables, np.ndarray]:
    """The tables and the bias, fine-tuned on ``data`` (``train_head.Data``)."""
    vocab, k = table0.shape
    table, bias = table0.astype(np.float32), bias0.astype(np.float32)
    step = adam([table, bias], settings.rate)
    nb = settings.pair_buckets
    pairs = np.zeros((nb + 1, k), dtype=np.float32) if nb else None
    pair_of = pair_buckets(data.flat, data.starts, nb) if nb else None
    lazy = LazyAdam(pairs, settings.rate) if pairs is not None else None
    n = len(data.ids)
    lengths = np.diff(np.append(data.starts, len(data.flat)))
    for epoch in range(settings.epochs):
        for b in batches(n, 1000 + epoch, settings.batch):
            share = len(b) / n
            where = np.concatenate([np.arange(data.starts[i], data.starts[i] + lengths[i]) for i in b])
            flat = data.flat[where]
            lens = lengths[b]
            starts = np.zeros(len(b), dtype=np.int64)
            np.cumsum(lens[:-1], out=starts[1:])
            inv = data.inv_len[b]
            rows = table[flat]
            if pairs is not None:
                pflat = pair_of[where]
                rows += pairs[pflat]
            z = np.add.reduceat(rows, starts, axis=0) * inv[:, None] + bias
            g = softmax_grad(z, data.targets[b], data.weights[b] / share)
            contrib = np.repeat(g * inv[:, None], lens, axis=0)
            gt = np.empty_like(table)
            for c in range(k):
                gt[:, c] = np.bincount(flat, weights=contrib[:, c], minlength=vocab)
            step([gt + settings.token_l2 * (table - table0), g.sum(axis=0)])
            if pairs is not None and lazy is not None:
                touched, inverse = np.unique(pflat, return_inverse=True)
                gp = np.empty((len(touched), k), dtype=np.float32)
                for c in range(k):
                    gp[:, c] = np.bincount(inverse, weights=contrib[:, c], minlength=len(touched))
                gp += settings.pair_l2 * pairs[touched]
                keep = touched != nb  # the last row (a story's last token: no pair) stays zero
                lazy.step(touched[keep], gp[keep])
        log(f"token tuning: epoch {epoch}")
    return Tables(table, None if pairs is None else pairs[:nb]), bias

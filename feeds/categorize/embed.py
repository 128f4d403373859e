"""Static sentence embeddings: text in, a unit vector out, with numpy only (no torch, no network).

The model (``models/mpnet-static-256``: ``vocab.txt``, ``embeddings.npy``, ``meta.json``) is one
vector per WordPiece token of the MPNet vocabulary, distilled from ``all-mpnet-base-v2`` with
``model2vec`` (``models/README.md``). A text's embedding is the mean of its tokens' vectors, scaled
to unit length; :class:`WordPiece` reimplements BERT's uncased tokenizer and caches tokenized
words. Details: "Embeddings and the tokenizer" in ``docs/categorizer.md``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from wirefeed.config.defaults import EMBED_MAX_TOKENS, EMBED_MAX_WORD_CHARS, EMBED_WORD_CACHE_SIZE
from wirefeed.errors import ConfigError


def _char_class(codepoints: Sequence[int]) -> str:
    """A regex character class body matching exactly ``codepoints`` (as ranges)."""
    parts: list[str] = []
    cps = sorted(set(codepoints))
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        a, b = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(a if i == j else f"{a}-{b}")
        i = j + 1
    return "".join(parts)


def _build_splitter() -> re.Pattern[str]:
    """Words and single punctuation marks / CJK ideographs, as BERT's pre-tokenizer splits them.

    Punctuation is every ASCII punctuation character plus every Unicode ``P*`` character of the
    Basic Multilingual Plane (the rest of Unicode holds almost none). CJK ideographs are the
    blocks BERT's tokenizer lists (a format constant of the model, not a setting).
    """
    cjk_blocks = (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
    )  # fmt: skip
    punct = [c for c in range(0x10000) if unicodedata.category(chr(c)).startswith("P")]
    punct += [c for c in range(33, 127) if not chr(c).isalnum()]
    cjk = [c for a, b in cjk_blocks for c in range(a, min(b, 0xFFFF) + 1)]
    single = _char_class(punct + cjk) + "".join(
        f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in cjk_blocks if a > 0xFFFF
    )
    return re.compile(rf"[{single}]|[^\s{single}]+")


_splitter = functools.cache(_build_splitter)
"""The full splitter, built on first use (by the first text that is not ASCII after normalising:
building it reads the category of every BMP character, a noticeable share of a process's start)."""
_SPLIT_ASCII = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
""":func:`_splitter` for a normalised text that is ASCII: such a text holds no capitals and no control
characters but tab, newline and carriage return, so a word is a run of ``[a-z0-9]`` and every
other printable character is a punctuation mark (and matching one small class is faster)."""
_CONTROL = {c: None for c in range(32) if chr(c) not in "\t\n\r"} | {0x7F: None, 0xFFFD: None}


def normalize(text: str) -> str:
    """BERT's uncased normalisation: drop control characters, strip accents, lowercase."""
    if text.isascii():
        return text.lower() if text.isprintable() else text.translate(_CONTROL).lower()
    out = []
    for ch in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(ch)
        if cat == "Mn" or (cat in ("Cc", "Cf") and ch not in "\t\n\r") or ch == "\ufffd":
            continue
        out.append(ch)
    return "".join(out).lower()


class _WordCache(dict[str, tuple[int, ...]]):
    """Word -> token ids; a missing word is split on first use (so lookups stay in C)."""

    def __init__(self, split: Callable[[str], tuple[int, ...]]) -> None:
        super().__init__()
        self._split = split

    def __missing__(self, word: str) -> tuple[int, ...]:
        pieces = self._split(word)
        if len(self) >= EMBED_WORD_CACHE_SIZE:
            self.clear()
        self[sys.intern(word) if len(word) < 32 else word] = pieces
        return pieces


class WordPiece:
    """BERT uncased WordPiece tokenizer over a vocabulary (token -> id)."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self._cache = _WordCache(self._split)
        self._longest = max(map(len, vocab), default=1)

    def words(self, text: str) -> list[str]:
        """The pre-tokenized words of ``text`` (normalised; punctuation marks are words)."""
        text = normalize(text)
        return (_SPLIT_ASCII if text.isascii() else _splitter()).findall(text)

    def ids(self, text: str) -> list[int]:
        """Token ids of ``text``, unknown words left out."""
        text = normalize(text)
        words = (_SPLIT_ASCII if text.isascii() else _splitter()).findall(text)
        return list(chain.from_iterable(map(self._cache.__getitem__, words)))

    def tokens(self, text: str) -> list[str]:
        """Token strings of ``text`` (for reading and tests)."""
        inverse = {i: t for t, i in self.vocab.items()}
        return [inverse[i] for i in self.ids(text)]

    def _split(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece; () if the word cannot be split."""
        if len(word) > EMBED_MAX_WORD_CHARS:
            return ()
        vocab = self.vocab
        whole = vocab.get(word)
        if whole is not None:
            return (whole,)
        pieces: list[int] = []
        start, n = 0, len(word)
        while start < n:
            end = min(n, start + self._longest)
            found = None
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(sub)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return ()
            pieces.append(found)
            start = end
        return tuple(pieces)


class StaticEmbedder:
    """Mean-of-token-vectors sentence embeddings from a static model folder (see the module docs)."""

    def __init__(self, folder: Path | str) -> None:
        folder = Path(folder)
        self.folder = folder
        meta_path, vocab_path, emb_path = (
            folder / "meta.json",
            folder / "vocab.txt",
            folder / "embeddings.npy",
        )
        for path in (meta_path, vocab_path, emb_path):
            if not path.is_file():
                raise ConfigError(
                    f"embedding model file {path} is missing; the model ships in the repository "
                    "(models/README.md says how to rebuild it)"
                )
        try:
            self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
            tokens = vocab_path.read_text(encoding="utf-8").split("\n")
            if tokens and tokens[-1] == "":
                tokens.pop()
            matrix = np.load(emb_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"embedding model in {folder} cannot be read: {exc}") from None
        if self.meta.get("tokenizer") != "bert-uncased-wordpiece":
            raise ConfigError(f"{meta_path}: unsupported tokenizer {self.meta.get('tokenizer')!r}")
        if matrix.ndim != 2 or matrix.shape[0] != len(tokens):
            raise ConfigError(
                f"{emb_path}: shape {matrix.shape} does not match {len(tokens)} tokens in {vocab_path}"
            )
        self.matrix = matrix
        """``(vocabulary, dims)`` float16, memory-mapped: worker processes share the pages."""
        self.dims = int(matrix.shape[1])
        self.tokenizer = WordPiece(dict(zip(tokens, range(len(tokens)), strict=True)))

    def ids(self, text: str) -> list[int]:
        return self.tokenizer.ids(text)[:EMBED_MAX_TOKENS]

    def embed_ids(self, id_lists: Sequence[Sequence[int]], *, normalize: bool = True) -> np.ndarray:
        """Mean embeddings of token-id lists, ``(len(id_lists), dims)`` float32: scaled to unit
        length (as ``model2vec`` does), or with ``normalize=False`` the plain mean of the token
        vectors (what the topic head reads). A list with no tokens gets the zero vector.
        """
        out = np.zeros((len(id_lists), self.dims), dtype=np.float32)
        rows = [i for i, ids in enumerate(id_lists) if ids]
        if not rows:
            return out
        lengths = np.fromiter((len(id_lists[i]) for i in rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter((t for i in rows for t in id_lists[i]), dtype=np.int64, count=int(lengths.sum()))
        starts = np.zeros(len(rows), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        sums = np.add.reduceat(self.matrix[flat].astype(np.float32), starts, axis=0)
        if normalize:
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            out[rows] = sums / norms  # the mean's direction: dividing by the length changes nothing
        else:
            out[rows] = sums / lengths[:, None]
        return out

    def embed(self, texts: Sequence[str], *, normalize: bool = True) -> np.ndarray:
        """Embeddings of ``texts``, ``(len(texts), dims)`` float32 (see :meth:`embed_ids`)."""
        return self.embed_ids([self.ids(t) for t in texts], normalize=normalize)

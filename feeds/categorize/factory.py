"""The categorizer a taxonomy asks for: :func:`build_categorizer` (workers and the CLI use it)."""

from __future__ import annotations

import functools
from pathlib import Path

from wirefeed.feeds.categorize.classifier import TopicClassifier
from wirefeed.feeds.categorize.hybrid import HybridCategorizer
from wirefeed.feeds.categorize.protocol import Categorizer
from wirefeed.feeds.categorize.rules import RuleCategorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy


def build_categorizer(taxonomy: Taxonomy) -> Categorizer:
    """The categorizer the workers and the CLI use.

    With a ``[classifier]`` table in the taxonomy: the :class:`HybridCategorizer` (rules + the
    learned layer; raises :class:`~wirefeed.errors.ConfigError` if the model files are missing or
    do not fit). Without one: the editors' rules alone (:class:`RuleCategorizer`).
    """
    settings = taxonomy.classifier
    if settings is None:
        return RuleCategorizer(taxonomy)
    stamp = _stamp(settings.model / "embeddings.npy", settings.head)
    return HybridCategorizer(taxonomy, _load_classifier(settings.model, settings.head, stamp))


@functools.lru_cache(maxsize=4)
def _load_classifier(model: Path, head: Path, stamp: tuple[float, ...]) -> TopicClassifier:
    """One loaded classifier per process and set of files (``stamp``: their mtimes)."""
    return TopicClassifier.load(model, head)


def _stamp(*paths: Path) -> tuple[float, ...]:
    """Modification times of ``paths`` (0 for a file that cannot be read)."""
    out = []
    for path in paths:
        try:
            out.append(path.stat().st_mtime)
        except OSError:
            out.append(0.0)
    return tuple(out)

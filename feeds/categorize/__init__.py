"""Topic tagging: a story's text in, its :class:`~wirefeed.feeds.stories.model.TopicTag` s out.

The workers and ``wirefeed classify`` only know the :class:`Categorizer` protocol and the
:func:`build_categorizer` factory. With the shipped taxonomy that gives a
:class:`HybridCategorizer` (the editors' rules plus a learned classifier for the top-level
topics); a taxonomy without a ``[classifier]`` table gets the rules alone
(:class:`RuleCategorizer`). How it all works, module by module: ``docs/categorizer.md``.

The names below are loaded on first use, so a process that only reads the taxonomy (the web
service imports :mod:`~wirefeed.feeds.categorize.taxonomy`) loads neither numpy nor the model code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wirefeed.feeds.categorize.factory import build_categorizer
    from wirefeed.feeds.categorize.hybrid import HybridCategorizer
    from wirefeed.feeds.categorize.protocol import DEFAULT_REASON, Categorizer, TaggingInput
    from wirefeed.feeds.categorize.rules import Evidence, RuleCategorizer

__all__ = [
    "DEFAULT_REASON",
    "Categorizer",
    "Evidence",
    "HybridCategorizer",
    "RuleCategorizer",
    "TaggingInput",
    "build_categorizer",
]

_HOME = {
    "DEFAULT_REASON": "protocol",
    "Categorizer": "protocol",
    "TaggingInput": "protocol",
    "Evidence": "rules",
    "RuleCategorizer": "rules",
    "HybridCategorizer": "hybrid",
    "build_categorizer": "factory",
}
"""Public name -> the submodule that defines it."""


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

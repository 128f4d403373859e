"""Score whichever wirefeed is installed on the held-out sets, as the real-news targets count.

    python models/build/score_strict.py                 # this checkout's model
    /tmp/venv-old/bin/python models/build/score_strict.py   # an older checkout installed there

Counts a story right when the group (world or politics; sports; business; technology or science)
of its FIRST top-level topic is its labelled group, over the corpora's TEST parts and
``tests/data/eval-fresh.jsonl``. It uses only names every version since the first categorizer has
(``build_categorizer``, ``TaggingInput``, ``Taxonomy``, ``Settings``, ``evaluate.GROUPS``), so an
older checkout, installed in a venv of its own, is scored on the same rows: how models/README.md's
"How our sets predict the outside measure" was made. The corpora are split by this checkout's
``corpora.py``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora

from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.evaluate import GROUPS
from wirefeed.feeds.categorize.taxonomy import Taxonomy

if TYPE_CHECKING:
    from wirefeed.feeds.categorize import Categorizer

FRESH = corpora.ROOT / "tests" / "data" / "eval-fresh.jsonl"


def score(categorizer: Categorizer, top: set[str], rows: list[dict]) -> str:
    """One line: stories, strict accuracy, strict recall per group."""
    items = [TaggingInput(r["title"], r.get("summary", "")) for r in rows]
    total, right = Counter(), Counter()
    for r, tags in zip(rows, categorizer.categorize_many(items), strict=True):
        first = next((t.slug for t in tags if t.slug in top), None)
        total[r["group"]] += 1
        right[r["group"]] += GROUPS.get(first or "") == r["group"]
    recall = " ".join(f"{g} {right[g] / total[g]:.1%}" for g in ("world", "sports", "business", "scitech"))
    return f"{sum(total.values())} stories, {sum(right.values()) / sum(total.values()):.1%}; {recall}"


def main() -> int:
    taxonomy = Taxonomy.load(Settings.from_env().topics_path)
    top = {slug for slug, t in taxonomy.topics.items() if t.parent is None}
    categorizer = build_categorizer(taxonomy)
    sets = {f"{c} test": p["test"] for c, p in corpora.splits().items()}
    if sets:
        sets["both corpora"] = [r for rows in list(sets.values()) for r in rows]
    sets["fresh"] = [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line]
    for name, rows in sets.items():
        grouped = [r for r in rows if r.get("group") in GROUPS.values()]
        print(f"{name}: {score(categorizer, top, grouped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

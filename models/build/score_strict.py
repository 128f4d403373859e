"""Score whichever wirefeed is installed on the held-out sets, as the real-news targets count.

    python models/build/score_strict.py                 # this checkout's model
    /tmp/venv-old/bin/python models/build/score_strict.py   # an older checkout installed there

Counts a story right when the group (world or politics; sports; business; technology or science)
of its FIRST top-level topic is its labelled group, over the corpora's TEST parts and
``tests/data/eval-fresh.jsonl``. It asks the installed categorizer only for names every version
since the first one has (``build_categorizer``, ``TaggingInput``, ``Taxonomy``, ``Settings``) and
scores its answers with THIS checkout's ``feeds/categorize/evaluate.py`` (loaded by path), so an
older checkout, installed in a venv of its own, is scored on the same rows and by the same count:
how models/README.md's "How our sets predict the outside measure" was made. The corpora are split
by this checkout's ``corpora.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora

from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy

FRESH = corpora.ROOT / "tests" / "data" / "eval-fresh.jsonl"


def _this_evaluate():  # type: ignore[no-untyped-def]
    """This checkout's evaluation module (the installed wirefeed may be an older one)."""
    path = corpora.ROOT / "feeds" / "categorize" / "evaluate.py"
    spec = importlib.util.spec_from_file_location("wirefeed_evaluate_here", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ev = _this_evaluate()
    taxonomy = Taxonomy.load(Settings.from_env().topics_path)
    top = {slug for slug, t in taxonomy.topics.items() if t.parent is None}
    categorizer = build_categorizer(taxonomy)
    sets = {f"{c} test": p["test"] for c, p in corpora.splits().items()}
    if sets:
        sets["both corpora"] = [r for rows in list(sets.values()) for r in rows]
    sets["fresh"] = ev.read_eval(FRESH)
    for name, rows in sets.items():
        grouped = [r for r in rows if r.get("group") in ev.GROUP_NAMES]
        answers = categorizer.categorize_many(
            [TaggingInput(r["title"], r.get("summary", "")) for r in grouped]
        )
        report = ev.evaluate(grouped, answers, top)
        recall = " ".join(f"{g} {report.first_recall(g):.1%}" for g in ev.GROUP_NAMES)
        print(f"{name}: {report.n} stories, {report.first_accuracy():.1%}; {recall}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

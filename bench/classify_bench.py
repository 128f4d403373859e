"""Categorizer benchmark: held-out accuracy per group and topic, confusion, stories/s, start-up.

    .venv/bin/python -m bench.classify_bench            # everything (about a minute)
    .venv/bin/python -m bench.classify_bench --quick    # no subprocess timings
    .venv/bin/python -m bench.classify_bench --misses   # also list the held-out stories it gets wrong

Needs only the project itself (no Redis, no nginx): it calls the categorizer in-process, like a
categorizer worker does, plus two subprocesses for the start-up and ``wirefeed classify`` figures.

Reports, on the TEST split of the evaluation set (``tests/data/eval-test.jsonl``, never used in
training), for the shipped categorizer (rules + classifier) and for the rules alone:

- group accuracy (world or politics; sports; business; technology or science), recall and
  precision per group, the confusion table, per-topic recall and tag precision, hard cases;
  once with title + summary, once with the bare headlines;
- the sample labels (tests/data/sample-labels.jsonl) passed;
- the same on ``tests/data/eval-fresh.jsonl`` (296 wire stories, 4 groups, written after
  round 5's model was chosen, never trained or tuned on), title + summary;
- stories per second on one core: headlines, and title + summary, through ``categorize_many`` in
  batches of 500 (a worker's batch) and 2,000 (``wirefeed classify``'s chunk);
- the start-up of a fresh process up to its first tagged story (a categorizer worker's readiness),
  and ``python -m wirefeed classify`` on 10,000 lines: wall time and stories per CPU-second of
  the whole process (interpreter start, model load and tagging);
- the size of the model files;
- on the held-out TEST parts of the real-news corpora (``models/build/corpora.py``; read only if
  ``shared/data/news-topics`` is there, otherwise one line says so), per corpus and for both:
  group accuracy (the four groups both corpora cover; also counted strictly, by the first
  top-level topic, as the real-news targets are), first-topic accuracy over the nine
  top-level topics, coverage (share of stories given a topic; the rest abstain) and precision at
  that coverage, per-topic recall and tag precision; for the shipped categorizer and the rules alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run as a script, bench/ would come first on the path and its modules (profile.py...) shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from wirefeed.feeds.categorize import Categorizer, RuleCategorizer, TaggingInput, build_categorizer  # noqa: E402
from wirefeed.feeds.categorize.evaluate import Report, evaluate, read_eval  # noqa: E402
from wirefeed.feeds.categorize.taxonomy import Taxonomy  # noqa: E402

TOPICS = ROOT / "config" / "topics.toml"
TEST = ROOT / "tests" / "data" / "eval-test.jsonl"
TUNE = ROOT / "tests" / "data" / "eval-tune.jsonl"
FRESH = ROOT / "tests" / "data" / "eval-fresh.jsonl"
"""A second held-out set, written after round 5's model was chosen: never trained or tuned on."""
LABELS = ROOT / "tests" / "data" / "sample-labels.jsonl"

STARTUP = """
import time; t = time.perf_counter()
from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
cat = build_categorizer(Taxonomy.load(Settings.from_env().topics_path))
cat.categorize_many([TaggingInput("Warm-up story")])
print(time.perf_counter() - t)
"""


def sample_passed(cat: Categorizer) -> tuple[int, list[str]]:
    from test_categorize import sample_items

    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    failed = []
    for lab, tags in zip(labels, cat.categorize_many(sample_items()), strict=True):
        got = {t.slug for t in tags}
        ok = bool(got & set(lab["any_of"])) and not got & set(lab["none_of"])
        if not ok or not set(lab.get("all_of", [])) <= got:
            failed.append(f"#{lab['n']} {lab['title']}: {', '.join(t.slug for t in tags)}")
    return len(labels) - len(failed), failed


def throughput(
    cat: Categorizer, items: list[TaggingInput], batch: int, n: int = 10_000
) -> tuple[float, float]:
    """(stories per CPU-second, stories per wall-second), best of 3 runs.

    CPU time (all threads of this process) is what "per core" means, and it is not inflated when
    other processes share the machine; wall time is shown too.
    """
    stories = [items[i % len(items)] for i in range(n)]
    cat.categorize_many(stories[:batch])  # warm the word cache like a running worker
    cpu = wall = 0.0
    for _ in range(3):
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, n, batch):
            cat.categorize_many(stories[i : i + batch])
        cpu = max(cpu, n / (time.process_time() - c0))
        wall = max(wall, n / (time.perf_counter() - w0))
    return cpu, wall


def startup_seconds(runs: int = 3) -> tuple[float, float]:
    """(in-process seconds to first tagged story, wall seconds incl. the interpreter), medians."""
    inner, wall = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", STARTUP], cwd=ROOT, capture_output=True, text=True, check=True
        )
        wall.append(time.perf_counter() - start)
        inner.append(float(out.stdout.strip()))
    return statistics.median(inner), statistics.median(wall)


def classify_cli_seconds(rows: list[dict], n: int = 10_000) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``python -m wirefeed classify`` on ``n`` lines, whole process."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as fh:
        for i in range(n):
            row = rows[i % len(rows)]
            fh.write(json.dumps({"id": i, "title": row["title"], "summary": row["summary"]}) + "\n")
        fh.seek(0)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "wirefeed", "classify"]
        out = subprocess.run(cmd, stdin=fh, cwd=ROOT, capture_output=True, check=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert out.stdout.count(b"\n") == n
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def model_megabytes(taxonomy: Taxonomy) -> float:
    """Size of the files the classifier loads (embedding folder, head, its token and pair tables)."""
    settings = taxonomy.classifier
    if settings is None:
        return 0.0
    files = [*settings.model.iterdir(), settings.head]
    head = json.loads(settings.head.read_text(encoding="utf-8"))
    for key in ("token_logits", "pair_logits"):
        if head.get(key):
            files.append(settings.head.parent / head[key]["file"])
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def real_news(hybrid: Categorizer, rules: Categorizer, top: set[str]) -> None:
    """The held-out TEST parts of the real-news corpora (if present)."""
    sys.path.insert(0, str(ROOT / "models" / "build"))
    import corpora

    folder = corpora.data_dir()
    print("\n## Real news (held-out TEST parts of the corpora)\n")
    if folder is None:
        print("(skipped: the corpora, shared/data/news-topics, are not here; set WIREFEED_NEWS_TOPICS)")
        return
    tests = {name: parts["test"] for name, parts in corpora.splits(folder).items()}
    tests["both"] = [r for rows in tests.values() for r in rows]
    print(
        "| categorizer | corpus | stories | group accuracy | by the first top-level topic "
        "| business / sci-tech recall (by the first) | first topic right | coverage | precision at coverage |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    reports = {}
    for name, cat in (("rules + classifier", hybrid), ("rules alone", rules)):
        for corpus, rows in tests.items():
            rep = evaluate(
                rows, cat.categorize_many([TaggingInput(r["title"], r["summary"]) for r in rows]), top
            )
            reports[(name, corpus)] = rep
            print(
                f"| {name} | {corpus} | {rep.stories} | {rep.accuracy:.1%} | {rep.first_accuracy():.1%} | "
                f"{rep.first_recall('business'):.1%} / {rep.first_recall('scitech'):.1%} | "
                f"{rep.top_accuracy:.1%} | {rep.coverage:.1%} | {rep.precision_at_coverage:.1%} |"
            )
    for corpus in tests:
        section(f"rules + classifier, {corpus} (test part)", reports[("rules + classifier", corpus)])


def section(title: str, report: Report) -> None:
    print(f"\n### {title}\n\n{report.summary()}\n\n{report.tables()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the subprocess timings")
    ap.add_argument("--misses", action="store_true", help="list the held-out stories it gets wrong")
    ap.add_argument("--no-real", action="store_true", help="skip the real-news corpora")
    args = ap.parse_args()

    taxonomy = Taxonomy.load(TOPICS)
    top = {t.slug for t in taxonomy.top_level()}
    hybrid, rules = build_categorizer(taxonomy), RuleCategorizer(taxonomy)
    rows = read_eval(TEST)
    full = [TaggingInput(r["title"], r["summary"]) for r in rows]
    bare = [TaggingInput(r["title"]) for r in rows]

    print(f"# Categorizer benchmark ({len(rows)} held-out stories, {TEST.relative_to(ROOT)})")
    for name, cat in (("rules + classifier (shipped)", hybrid), ("rules alone", rules)):
        for what, items in (("title + summary", full), ("bare headlines", bare)):
            report = evaluate(rows, cat.categorize_many(items), top)
            section(f"{name}, {what}", report)
            if args.misses and cat is hybrid:
                print("\nmisses:\n" + "\n".join(f"- {m}" for m in report.misses))
        passed, failed = sample_passed(cat)
        print(f"\nsample labels: {passed}/51 pass" + "".join(f"\n- failed {f}" for f in failed))

    fresh = read_eval(FRESH)
    report = evaluate(
        fresh, hybrid.categorize_many([TaggingInput(r["title"], r["summary"]) for r in fresh]), top
    )
    section(
        f"rules + classifier (shipped), {len(fresh)} fresh wire stories ({FRESH.relative_to(ROOT)})", report
    )
    if args.misses:
        print("\nmisses:\n" + "\n".join(f"- {m}" for m in report.misses))

    headlines = [TaggingInput(r["title"]) for r in read_eval(TUNE) + rows]
    print("\n### Speed (one process)\n")
    print("| categorizer | input | batch | stories per CPU-second | stories per wall-second |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, cat in (("rules + classifier", hybrid), ("rules alone", rules)):
        for what, items in (("headlines", headlines), ("title + summary", full)):
            for batch in (500, 2000):
                cpu, wall = throughput(cat, items, batch)
                print(f"| {name} | {what} | {batch} | {cpu:,.0f} | {wall:,.0f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n(load average during the run: {load:.1f} on {os.cpu_count()} cores)")
    print(f"\nmodel files: {model_megabytes(taxonomy):.1f} MB")
    if not args.quick:
        inner, wall = startup_seconds()
        print(f"\nfresh process to its first tagged story: {inner:.2f} s in Python, {wall:.2f} s wall")
        seconds, cpu = classify_cli_seconds(rows)
        print(
            f"`python -m wirefeed classify`, 10,000 lines: {seconds:.2f} s wall, {cpu:.2f} CPU-seconds "
            f"(whole process): {10_000 / cpu:,.0f} stories per CPU-second"
        )
    if not args.no_real:
        real_news(hybrid, rules, top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

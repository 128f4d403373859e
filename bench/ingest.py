"""Scenario 1: ingest throughput, and the obvious design on the same machine in the same run.

Figure: stories in the dump / seconds from the first byte of ``POST /api/ingest`` until the
ingest is done and every topic feed served over HTTP lists the newest stories of its index
(:func:`bench.client.feeds_current`). The store is emptied before every run.

Baseline: the obvious design (:mod:`bench.baseline_rq`) on a smaller dump, timed the same way
from the first byte it parses. On that same dump both paths must leave the same stories,
topics and feeds (:mod:`bench.correctness`); the differences found are a row of the table.
"""

from __future__ import annotations

from bench import correctness
from bench.gen import generate
from bench.harness import Harness
from bench.report import Row, median


def run(h: Harness) -> list[Row]:
    plan = h.plan
    data = generate(plan.stories, plan.seed)
    small = generate(plan.baseline_stories, plan.seed + 1)

    rates: list[float] = []
    for _ in range(plan.runs):
        h.stack.reset()
        secs = h.ingest(data)
        rates.append(plan.stories / secs)
        h.say(f"scenario 1: shipped pipeline, {plan.stories} stories in {secs:.2f} s = {rates[-1]:,.0f}/s")

    # Correctness: the same small dump through the shipped path, then through the obvious one.
    h.stack.reset()
    h.ingest(small)
    shipped = correctness.snapshot(h.r, h.web, h.slugs)

    base_rates: list[float] = []
    same = correctness.Comparison()
    h.use_baseline()
    try:
        for n in range(plan.runs):
            h.stack.reset()
            secs = h.ingest(small)
            base_rates.append(plan.baseline_stories / secs)
            h.say(
                f"scenario 1: obvious design, {plan.baseline_stories} stories in {secs:.2f} s "
                f"= {base_rates[-1]:,.1f}/s"
            )
            if n == 0:
                same = correctness.compare(shipped, correctness.snapshot(h.r, h.web, h.slugs))
                h.say(f"scenario 1: batched vs obvious design on the same dump: {same.summary(shipped)}")
    finally:
        h.use_shipped()

    check = Row(
        "1",
        f"batched vs obvious design, same {plan.baseline_stories:,}-story dump: stories, topic indexes "
        "and feed bytes that differ",
        float(same.count),
        "differences",
        target="0",
        met=same.count == 0,
        note=same.summary(shipped),
    )
    value, base = median(rates), median(base_rates)
    note = (
        f"{h.stack.categorizers} categorizer workers + 1 ingest worker (rq SimpleWorker, batches of "
        f"{h.settings.batch_size}); obvious design: the same processes as rq's forking Worker, "
        "batches of 1"
    )
    common = {
        "value": value,
        "unit": "stories/s",
        "baseline": f"obvious design (1 rq job/story, forking Worker), {plan.baseline_stories:,} stories",
        "baseline_value": base,
        "samples": rates,
        "baseline_samples": base_rates,
    }
    rate = Row("1", f"ingest rate, {plan.stories:,}-story dump, end to end", **common)
    rate.target, rate.met, rate.note = "≥ 2,000/s", value is not None and value >= 2000, note
    speedup = Row("1", "ingest rate vs the obvious design", **common)
    speedup.target, speedup.met = "≥ 40x", speedup.ratio is not None and speedup.ratio >= 40
    speedup.samples, speedup.baseline_samples = [], []
    return [rate, speedup, check]

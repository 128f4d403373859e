"""Scenario 5: does Redis memory level off with retention?

Replays ``retention_days`` simulated days (90) of ``retention_per_day`` new stories a day (5,000)
with ``WIREFEED_RETENTION_DAYS`` = ``retention_keep`` (30), on a simulated clock: the workers'
clock (:func:`wirefeed.workers.clock.now_micros`, the one function every pipeline step reads) is
replaced in this process, which then runs the real pipeline on each day's dump (parse, identity,
categorizer, store: :func:`wirefeed.workers.pipeline.run_express`) and, at the end of each day,
the real retention run (:func:`wirefeed.workers.retention.run_retention`). No real time has to
pass. The stack's own workers stay idle (the retention marker is set, so none of them is handed
a retention run on the real clock meanwhile).

Reported: Redis ``used_memory`` after each simulated day (in the log, and at days keep, 2x keep
and the last in the table), whether it levelled off (the last day within 10% of the day twice the
retention period), stories stored, and the longest Redis command a retention run issued: with the
slow log recording every command during the runs (``slowlog-log-slower-than 0``), the longest
entry, against the 10 ms bound (an EXEC counts as one command: Redis is blocked for its whole
transaction).
"""

from __future__ import annotations

import time
import uuid

import redis

from bench.gen import generate
from bench.harness import Harness
from bench.report import Row
from wirefeed.feeds.store import keys
from wirefeed.workers import clock, context, pipeline
from wirefeed.workers.retention import run_retention

DAY_US = 86_400 * 1_000_000
SLOWLOG_KEEP = 1_000_000
OBSERVER = (b"SLOWLOG", b"CONFIG")


def _day_dump(day: int, stories: int) -> bytes:
    return generate(stories, 9000 + day, repeat=0.0, first_serial=20_000_000 * (day + 1))


def _ingest(ctx: context.WorkerContext, data: bytes) -> None:
    """What ``POST /api/ingest`` stores, then the express job's work in this process."""
    ingest_id = uuid.uuid4().hex
    r = ctx.redis
    r.set(keys.dump(ingest_id), data)
    r.hset(
        keys.ingest(ingest_id),
        mapping={"state": "queued", "source": "bench", "batches": 0, "batches_done": 0},
    )
    pipeline.run_express(ctx, ingest_id)


def _logged(r: redis.Redis) -> list[tuple[int, bytes]]:
    """(µs, command) of every slow-log entry but this scenario's own (or an observer's)
    ``SLOWLOG`` and ``CONFIG`` calls."""
    entries = r.slowlog_get(SLOWLOG_KEEP)
    return [(int(e["duration"]), e["command"]) for e in entries if not e["command"].startswith(OBSERVER)]


def run(h: Harness) -> list[Row]:
    plan = h.plan
    days, per_day, keep = plan.retention_days, plan.retention_per_day, plan.retention_keep
    h.stack.reset()
    r = h.r
    settings = h.settings.with_(retention_days=float(keep), tombstone_days=float(keep))
    ctx = context.build(settings)
    r.set(keys.RETENTION_QUEUED, 1, ex=7 * 86400)  # the idle workers never run it on the real clock
    base_used = int(r.info("memory")["used_memory"])
    start = time.time_ns() // 1000 - (days + 1) * DAY_US
    real_clock = clock.now_micros
    old_cfg = r.config_get("slowlog-*")
    used: list[int] = []
    stored: list[int] = []
    slowest, steps, expired, over, slowest_cmd = 0, 0, 0, 0, ""
    t0 = time.perf_counter()
    try:
        for day in range(days):
            now = start + day * DAY_US
            clock.now_micros = lambda now=now: now  # type: ignore[misc]
            _ingest(ctx, _day_dump(day, per_day))
            end_of_day = now + DAY_US - 1
            r.config_set("slowlog-max-len", SLOWLOG_KEEP)
            r.config_set("slowlog-log-slower-than", 0)
            r.slowlog_reset()
            report = run_retention(
                ctx.store, ctx.taxonomy, settings, end_of_day, max_steps=10**9, render=False
            )
            r.config_set("slowlog-log-slower-than", old_cfg["slowlog-log-slower-than"])
            for us, command in _logged(r):
                over += us >= 10_000
                if us > slowest:
                    slowest, slowest_cmd = us, command[:60].decode(errors="replace")
            r.slowlog_reset()
            steps += report.steps
            expired += report.stories
            used.append(int(r.info("memory")["used_memory"]) - base_used)
            stored.append(h.stored())
            h.say(
                f"scenario 5: day {day + 1}: {stored[-1]:,} stories, Redis +{used[-1] / 2**20:,.1f} MiB, "
                f"retention removed {report.stories:,} stories, {report.log_entries:,} log entries "
                f"in {report.steps} steps"
            )
    finally:
        clock.now_micros = real_clock  # type: ignore[misc]
        r.config_set("slowlog-max-len", old_cfg["slowlog-max-len"])
        r.config_set("slowlog-log-slower-than", old_cfg["slowlog-log-slower-than"])
        r.delete(keys.RETENTION_QUEUED)
    secs = time.perf_counter() - t0
    mib = [u / 2**20 for u in used]
    at_keep, at_twice, last = mib[min(keep, days) - 1], mib[min(2 * keep, days) - 1], mib[-1]
    level = last / at_twice if at_twice else None
    rows = [
        Row("5", f"Redis memory after day {keep} ({per_day:,} stories/day)", at_keep, "MiB"),
        Row("5", f"Redis memory after day {min(2 * keep, days)}", at_twice, "MiB"),
        Row(
            "5", f"Redis memory after day {days} (retention {keep} days)", last, "MiB",
            f"day {min(2 * keep, days)}", at_twice, "≤ 1.1x (levels off)",
        ),
        Row("5", f"stories stored after day {days}", float(stored[-1]), "stories"),
        Row(
            "5", "longest Redis command of a retention run (slow log)", slowest / 1000, "ms",
            target="< 10 ms",
        ),
    ]  # fmt: skip
    rows[2].met = level is not None and level <= 1.1
    rows[2].note = f"{days} simulated days in {secs:.0f} s; memory by day (MiB): " + ", ".join(
        f"{m:.0f}" for m in mib[:: max(1, days // 18)]
    )
    rows[4].met = slowest < 10_000
    rows[4].note = (
        f"{steps:,} retention steps removed {expired:,} stories; peak store {max(stored):,} stories; "
        f"{over} command(s) at or over 10 ms; the longest: {slowest_cmd!r}"
    )
    return rows

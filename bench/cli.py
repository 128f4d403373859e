"""``python -m bench``: start the real stack, run the scenarios, print the table, write RESULTS.md."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from bench import freshness, ingest, noise, push, retention, scale, serving
from bench.harness import Harness
from bench.plan import Plan
from bench.report import Row, machine, table, write_results
from bench.stack import Stack, temp_workdir

SCENARIOS: dict[int, tuple[str, Callable[[Harness], list[Row]]]] = {
    1: ("ingest throughput", ingest.run),
    2: ("feed serving", serving.run),
    3: ("freshness", freshness.run),
    4: ("scale", scale.run),
    5: ("retention (simulated days)", retention.run),
    6: ("WebSub push (batched vs one job per delivery)", push.run),
}
NAMES = {"push": 6}
"""Scenarios that may also be named (``--scenario push``)."""


def _scenario(text: str) -> int:
    n = NAMES.get(text) or (int(text) if text.isdigit() else 0)
    if n not in SCENARIOS:
        raise argparse.ArgumentTypeError(f"no scenario {text!r} (1-{max(SCENARIOS)} or {', '.join(NAMES)})")
    return n


def _push_case(text: str) -> tuple[int, int]:
    n, _, topics = text.partition(":")
    if not n.isdigit() or not (topics or "1").isdigit():
        raise argparse.ArgumentTypeError(f"not N[:TOPICS]: {text!r}")
    return int(n), int(topics or 1)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark wirefeed against its baselines on this machine (see bench/__init__.py).",
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run (small dumps, 1 run each)")
    p.add_argument(
        "--scenario", type=_scenario, action="append", help="run only these (repeatable; 6 is also 'push')"
    )
    p.add_argument("--runs", type=int, help="runs per figure (median); default 3, 1 with --quick")
    p.add_argument("--categorizers", type=int, default=2, help="categorizer workers (default 2)")
    p.add_argument(
        "--push-case",
        type=_push_case,
        action="append",
        metavar="N[:TOPICS]",
        help="scenario 6: only this case, N subscribers over TOPICS topics (default 1; repeatable)",
    )
    p.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/RESULTS.md (default: only after a full run of every scenario)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, configs) after the run")
    p.add_argument(
        "--quiet-below",
        type=float,
        default=0.3,
        metavar="CORES",
        help="before each scenario, wait until other processes use less CPU than this (default 0.3 cores)",
    )
    p.add_argument(
        "--max-wait",
        type=float,
        default=300.0,
        metavar="S",
        help="longest such wait (default 300 s; 0: none)",
    )
    return p


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run_scenarios(args: argparse.Namespace, plan: Plan, chosen: list[int], workdir: Path) -> Outcome:
    out = Outcome()
    stack = Stack(workdir, categorizers=args.categorizers)
    try:
        stack.start_all()
        h = Harness(stack, plan)
        out.redis_version = h.r.info("server")["redis_version"]
        h.say(f"stack up: Redis {stack.redis_url}, web :{stack.web_port}, work folder {workdir}")
        for n in chosen:
            name, fn = SCENARIOS[n]
            if args.max_wait > 0:
                noise.wait_quiet(args.quiet_below, args.max_wait, h.say)
            h.say(f"scenario {n}: {name}")
            out.monitor.label = str(n)
            out.rows.extend(fn(h))
            out.monitor.label = ""
            h.say(
                f"scenario {n}: other processes used {out.monitor.average(str(n)) or 0:.2f} cores meanwhile"
            )
    finally:
        out.monitor.stop()
        stack.stop()
    return out


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    redis_version: str = "unknown"
    monitor: noise.Monitor = field(default_factory=lambda: noise.Monitor().start())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    if args.runs:
        plan = Plan(**{**plan.__dict__, "runs": args.runs})
    if args.push_case:
        plan = Plan(**{**plan.__dict__, "push_cases": tuple(args.push_case)})
    chosen = sorted(set(args.scenario or SCENARIOS))
    missing = [t for t in ("nginx", "wrk") if shutil.which(t) is None and 2 in chosen]
    if missing:
        print(f"bench: {', '.join(missing)} not found: apt-get install -y nginx wrk", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_term)
    command = "python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    with temp_workdir(keep=args.keep) as workdir:
        try:
            out = _run_scenarios(args, plan, chosen, workdir)
        except KeyboardInterrupt:
            print("\nbench: interrupted", file=sys.stderr)
            return 130
        if args.keep:
            print(f"work folder kept: {workdir}")
    print()
    print(table(out.rows))
    print(f"\n{len(chosen)} scenario(s) in {time.monotonic() - started:.0f} s")
    write = args.write if args.write is not None else (not args.quick and len(chosen) == len(SCENARIOS))
    if write:
        partial = "" if len(chosen) == len(SCENARIOS) else f" (scenarios {', '.join(map(str, chosen))} only)"
        if args.quick:
            partial += " (quick smoke run: small sizes, 1 run)"
        load = f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"
        others = ", ".join(f"scenario {n}: {out.monitor.average(str(n)) or 0:.2f}" for n in chosen)
        info = [
            *machine(out.redis_version, load),
            ("CPU used by other processes meanwhile (cores, mean)", others),
        ]
        path = write_results(out.rows, info, command, partial)
        print(f"wrote {path}")
    return 1 if any(r.met is False for r in out.rows) else 0

"""``python -m bench.profile``: where the real processes spend their CPU, sampled with py-spy.

Starts the same stack as the bench, then:

- **ingest**: py-spy records the ingest worker and every categorizer worker (and the web
  server, which parses the dump in ``POST /api/ingest``) while scenario 1's dump goes through;
- **serve-200** / **serve-304**: py-spy records the gunicorn workers while wrk requests a feed
  without and with ``If-None-Match``.

For each it writes ``bench/profiles/<name>.txt``: the functions with the most samples on CPU,
by own time (the frame on top) and by total time (anywhere on the stack), in % of the samples
of those processes; ``--svg`` also writes flame graphs (``bench/profiles/*.svg``, not committed).
Needs ``py-spy`` (``pip install -e '.[bench]'``) and ptrace rights (root, or CAP_SYS_PTRACE).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.client import post_dump, wait_ingest
from bench.gen import generate
from bench.harness import Harness
from bench.plan import Plan
from bench.serving import wrk
from bench.stack import ROOT, Stack, temp_workdir

PROFILES = Path(__file__).with_name("profiles")
RATE = 200
"""Samples per second per process."""

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


class Recorder:
    """py-spy ``record`` on some pids until :meth:`stop` (SIGINT makes it write its file).

    ``mode="wall"`` samples every thread, idle or not (``--threads --idle``): the summary keeps the
    main thread, where rq runs jobs, so it shows where a worker's wall-clock time goes, waiting
    for Redis included. ``mode="gil"`` samples only the thread holding the GIL: CPU time of
    Python code, which is what limits a gunicorn worker's threads.
    """

    def __init__(self, workdir: Path, name: str, pids: dict[str, int], mode: str, svg: bool) -> None:
        self.procs: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        for label, pid in pids.items():
            for fmt in ("raw", "flamegraph") if svg else ("raw",):
                out = workdir / f"{name}-{label}.{'txt' if fmt == 'raw' else 'svg'}"
                argv = [
                    spy,
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    str(RATE),
                    "-f",
                    fmt,
                    "-o",
                    str(out),
                    "--nonblocking",
                ]
                argv += ["--threads", "--idle"] if mode == "wall" else ["--gil"]
                if label == "web":
                    argv.append("--subprocesses")
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                self.procs.append((label, out, proc))
        time.sleep(1.0)  # py-spy attaches
        for label, _, proc in self.procs:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"py-spy could not attach to {label}: {err[:500]}")

    def stop(self) -> list[tuple[str, Path]]:
        for _, _, proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for _, _, proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return [(label, out) for label, out, _ in self.procs]


def _frame_name(frame: str) -> str:
    """``func (path/file.py:12)`` -> ``file.py:func`` with the path cut to the project or library."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{m.group('func')}"


PROJECT = ("feeds/", "workers/", "services/", "wirefeed/", "config/")
IDLE_MARKERS = ("rq/queue.py:Queue.dequeue_any",)
"""A main-thread stack through one of these is a worker waiting for a job."""
REDIS_WAIT = ("redis/_parsers/socket.py:", "redis/connection.py:AbstractConnection.read_response")


@dataclass
class Profile:
    samples: int = 0
    idle: int = 0
    redis_wait: int = 0
    own: collections.Counter[str] = field(default_factory=collections.Counter)
    total: collections.Counter[str] = field(default_factory=collections.Counter)


def summarise(files: list[Path], *, main_thread_only: bool) -> Profile:
    """Aggregate py-spy raw files: own and total samples per function (idle samples apart)."""
    prof = Profile()
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_s = line.rpartition(" ")
            if not count_s.isdigit():
                continue
            count = int(count_s)
            raw = [f for f in stack.split(";") if f and not f.startswith("process ")]
            if raw and raw[0].startswith("thread ("):
                if main_thread_only and not raw[0].endswith(": MainThread"):
                    continue
                raw = raw[1:]
            frames = [_frame_name(f) for f in raw]
            if not frames:
                continue
            if any(f.startswith(IDLE_MARKERS) for f in frames):
                prof.idle += count
                continue
            prof.samples += count
            if frames[-1].startswith(REDIS_WAIT):
                prof.redis_wait += count
            prof.own[frames[-1]] += count
            for name in set(frames):
                prof.total[name] += count
    return prof


def write_summary(name: str, title: str, prof: Profile, notes: list[str], top: int = 30) -> Path:
    PROFILES.mkdir(exist_ok=True)
    out = PROFILES / f"{name}.txt"
    n = prof.samples
    lines = [f"# {title}", *[f"# {x}" for x in notes]]
    if prof.idle:
        share = 100 * prof.idle / (n + prof.idle)
        lines.append(
            f"# idle (waiting for a job): {share:.1f}% of the main thread's samples; below: busy samples"
        )
    lines.append(f"# {n} busy samples; waiting for Redis replies: {100 * prof.redis_wait / max(n, 1):.1f}%")
    lines += ["", "own time (top of stack)"]
    lines += [f"  {100 * c / n:5.1f}%  {f}" for f, c in prof.own.most_common(top)] if n else ["  (none)"]
    lines += ["", "total time of project functions (anywhere on the stack)"]
    mine = [(f, c) for f, c in prof.total.most_common() if f.startswith(PROJECT)][:top]
    lines += [f"  {100 * c / n:5.1f}%  {f}" for f, c in mine] if n else ["  (none)"]
    lines += ["", "total time of library functions (anywhere on the stack)"]
    libs = [(f, c) for f, c in prof.total.most_common() if not f.startswith(PROJECT)][:top]
    lines += [f"  {100 * c / n:5.1f}%  {f}" for f, c in libs] if n else ["  (none)"]
    out.write_text("\n".join(lines) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--svg", action="store_true", help="also write flame graphs into bench/profiles/")
    p.add_argument("--categorizers", type=int, default=2)
    args = p.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    with temp_workdir() as workdir:
        stack = Stack(workdir, categorizers=args.categorizers)
        try:
            stack.start_all()
            h = Harness(stack, plan)
            data = generate(plan.stories, plan.seed)
            h.ingest(generate(500, 99))  # warm every process up
            h.stack.reset()

            workers = {"ingest-worker": stack.children["ingest-worker"].pid}
            for n in range(stack.categorizers):
                workers[f"categorizer-{n + 1}"] = stack.children[f"categorizer-{n + 1}"].pid
            web_pid = {"web": stack.children["web"].pid}
            recs = [
                Recorder(workdir, "ingest", workers, "wall", args.svg),
                Recorder(workdir, "ingest", web_pid, "gil", args.svg),
            ]
            t0 = time.perf_counter()
            ingest_id = post_dump(h.web, data)
            post_secs = time.perf_counter() - t0
            wait_ingest(h.r, ingest_id, plan.ingest_timeout)
            secs = time.perf_counter() - t0
            outs = [o for rec in recs for o in rec.stop()]
            h.say(f"profile: ingest of {plan.stories:,} stories took {secs:.1f} s under py-spy")
            notes = [
                f"POST /api/ingest returned after {post_secs * 1000:.0f} ms; the whole ingest took "
                f"{secs:.1f} s under py-spy (the bench measures it without)",
                *_batch_times(h, ingest_id),
            ]
            roles: dict[str, list[Path]] = {}
            for label, out in outs:
                if out.suffix == ".txt":
                    roles.setdefault("categorizer" if label.startswith("categorizer") else label, []).append(
                        out
                    )
            for role, files in roles.items():
                what = (
                    f"{role} workers (all {len(files)}), main thread, wall clock"
                    if role == "categorizer"
                    else (
                        "web server, CPU (GIL holder)"
                        if role == "web"
                        else f"{role}, main thread, wall clock"
                    )
                )
                path = write_summary(
                    f"ingest-{role}",
                    f"ingest of a {plan.stories:,}-story dump: {what}",
                    summarise(files, main_thread_only=role != "web"),
                    notes,
                )
                h.say(f"profile: wrote {path}")
            _copy_svgs(outs)

            path_ = f"/feeds/{plan.topic}.atom"
            etag = h.web.get(path_).headers.get("etag", "")
            for kind, headers in (("200", None), ("304", {"If-None-Match": etag})):
                rec = Recorder(workdir, f"serve-{kind}", web_pid, "gil", args.svg)
                res = wrk(
                    stack.web_port, path_, seconds=plan.wrk_seconds, connections=plan.wrk_connections,
                    threads=plan.wrk_threads, headers=headers,
                )  # fmt: skip
                outs = rec.stop()
                path = write_summary(
                    f"serve-{kind}",
                    f"web server (gunicorn gthread, {stack.web_workers} workers) under "
                    f"wrk -c{plan.wrk_connections}, {kind}s on {path_}: CPU (GIL holder)",
                    summarise([o for _, o in outs if o.suffix == ".txt"], main_thread_only=False),
                    [f"{res.rps:,.0f} req/s under py-spy (p50 {res.p50_ms:.1f} ms)"],
                )
                _copy_svgs(outs)
                h.say(f"profile: wrote {path}")
        finally:
            stack.stop()
    return 0


def _batch_times(h: Harness, ingest_id: str) -> list[str]:
    """Median and max duration of the ingest's rq jobs (from rq's job records)."""
    out = []
    for prefix, what in (("ingest", "ingest job"), ("batch", "categorize_batch jobs")):
        secs = []
        for key in h.r.scan_iter(match=f"rq:job:{prefix}-{ingest_id}*", count=1000):
            started, ended = h.r.hmget(key, "started_at", "ended_at")
            if started and ended:
                a = datetime.strptime(started.decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
                b = datetime.strptime(ended.decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
                secs.append((b - a).total_seconds())
        if secs:
            out.append(
                f"{what}: {len(secs)}, median {1000 * statistics.median(secs):.0f} ms, "
                f"max {1000 * max(secs):.0f} ms (under py-spy)"
            )
    return out


def _copy_svgs(outs: list[tuple[str, Path]]) -> None:
    for _, out in outs:
        if out.suffix == ".svg" and out.exists():
            PROFILES.mkdir(exist_ok=True)
            shutil.copy(out, PROFILES / out.name)


if __name__ == "__main__":
    raise SystemExit(main())

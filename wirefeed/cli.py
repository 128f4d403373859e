"""The ``wirefeed`` command line.

    wirefeed up [--port N]             everything: Redis, workers, web; ingests the sample
    wirefeed ingest PATH... [--wait]   queue dumps; --wait prints new / updated / unchanged
    wirefeed worker [--queues ...]     an rq worker (ingest, express, categorize, websub)
    wirefeed serve [--port N]          the web service (gunicorn)
    wirefeed classify                  JSON lines on stdin (title, summary, body), topics out
    wirefeed check-worker [--queues]   healthcheck: live workers on this host serve the queues
    wirefeed failed                    stories the categorizer failed on, and failed jobs
    wirefeed retry                     put them back through the pipeline
    wirefeed split STORY_ID            a wrongly merged latest version becomes a story of its own
    wirefeed merge OLD_ID NEW_ID       a missed resend (NEW_ID) becomes a version of OLD_ID
    wirefeed withdraw ID [--reason R]  withdraw a story (tombstones in its feeds, 410 page)
    wirefeed expire                    expire stories past the retention horizon now

Exit status: 0 ok, 1 a project error (message on stderr), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import InputRejected, WirefeedError

if TYPE_CHECKING:  # redis loads with the commands that talk to it (not with ``classify``)
    import redis


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "host", None):
        settings = settings.with_(host=args.host)
    if getattr(args, "port", None):
        settings = settings.on_port(args.port)
    return settings


def cmd_up(args: argparse.Namespace) -> int:
    from wirefeed.supervisor import Supervisor, generated_token

    settings = _settings(args)
    if settings.ingest_token is None:
        settings = settings.with_(ingest_token=generated_token())
    if args.categorizers:
        settings = settings.with_(categorizer_workers=args.categorizers)
    return Supervisor(settings, ingest_sample=not args.no_sample).run()


def cmd_ingest(args: argparse.Namespace) -> int:
    from wirefeed.feeds.queue import ingests
    from wirefeed.progress import ProgressLine, items, outcome_line
    from wirefeed.runtime import redis_client
    from wirefeed.supervisor import read_dump

    settings = _settings(args)
    client = redis_client(settings)
    status = 0
    for path_str in args.paths:
        path = Path(path_str)
        try:
            sub = ingests.submit(
                client, settings, read_dump(path, settings.max_dump_bytes), source=path.name, force=args.force
            )
        except InputRejected as exc:
            print(f"{path}: rejected: {exc}", file=sys.stderr)
            status = 2
            continue
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
            status = 2
            continue
        for err in sub.errors:
            print(f"{path}: item rejected: {err}", file=sys.stderr)
        if not args.wait:
            print(f"{path}: queued {items(sub.stories)} (ingest {sub.ingest_id})")
            continue
        bar = None
        if sub.stories >= defaults.PROGRESS_MIN_STORIES and sys.stderr.isatty():
            bar = ProgressLine(sys.stderr, path.name)
        try:
            prog = ingests.wait(
                client, sub.ingest_id, timeout=args.timeout, on_progress=bar.update if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
        if not prog.done:
            print(
                f"{path}: not done after {args.timeout} s ({prog.batches_done}/{prog.batches} batches)",
                file=sys.stderr,
            )
            status = 1
            continue
        print(f"{path}: {items(sub.stories)}: {outcome_line(prog, rejected=len(sub.errors))}")
    return status


def cmd_worker(args: argparse.Namespace) -> int:
    from wirefeed.runtime import resolve
    from wirefeed.workers.runner import run_worker

    queues = _queues(args.queues)
    if queues is None:
        return 2
    settings = resolve(Settings.from_env())
    run_worker(settings, queues, burst=args.burst)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import shutil

    from wirefeed.runtime import check_port, resolve

    settings = _settings(args)
    check_port(settings.host, settings.port)  # first: a taken port is the likelier mistake
    settings = resolve(settings)
    metrics_dir = settings.web_metrics_dir().absolute()
    shutil.rmtree(metrics_dir, ignore_errors=True)  # files of an earlier run would count again
    metrics_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "WIREFEED_BASE_URL": settings.base_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:wirefeed.services.gunicorn_conf",
        "--no-control-socket",
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(settings.web_threads),
        "--bind",
        f"{settings.host}:{settings.port}",
        "--graceful-timeout",
        "10",
        *(["--access-logfile", "-"] if args.access_log else []),  # logging costs ~10% of web CPU
        "wirefeed.services.wsgi:build()",
    ]
    os.execvpe(argv[0], argv, env)
    return 0  # not reached


def _queues(spec: str) -> list[str] | None:
    """Short queue names from ``a,b``; ``None`` (after saying why) if one is unknown."""
    from wirefeed.feeds.queue.workers import QUEUES

    queues = [q.strip() for q in spec.split(",") if q.strip()]
    bad = [q for q in queues if q not in QUEUES]
    if bad or not queues:
        print(
            f"wirefeed: unknown queue(s) {', '.join(bad) or '(none given)'}: choose from {', '.join(QUEUES)}",
            file=sys.stderr,
        )
        return None
    return queues


def cmd_check_worker(args: argparse.Namespace) -> int:
    """Container healthcheck: each queue is served by a live worker on this host (one worker
    per queue, as ``wirefeed up`` and compose run them, is enough)."""
    import socket

    from wirefeed.feeds.queue.workers import live_workers, serving

    queues = _queues(args.queues)
    if queues is None:
        return 2
    host = socket.gethostname()
    workers = live_workers(_client())
    missing = [q for q in queues if not serving(workers, q, host=host)]
    if missing:
        print(f"wirefeed: no live worker on {host} serves {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _client() -> redis.Redis:
    from wirefeed.runtime import redis_client

    return redis_client(Settings.from_env())


def cmd_failed(args: argparse.Namespace) -> int:
    from wirefeed.workers.failures import list_failed

    items = list_failed(_client())
    if args.json:
        for item in items:
            print(json.dumps(item.to_dict(), ensure_ascii=False))
    else:
        for item in items:
            print(f"{item.kind}\t{item.key}\t{item.title}\t{item.error}")
        print(f"{len(items)} failed", file=sys.stderr)
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from wirefeed.workers.failures import retry_failed

    stories, jobs = retry_failed(_client(), Settings.from_env())
    print(f"re-queued {stories} stories and {jobs} jobs")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from wirefeed.classify import classify_stream

    settings = Settings.from_env()
    return classify_stream(settings, sys.stdin, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wirefeed", description="News wire dumps in, topic feeds out.")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run everything (Redis, workers, web) and ingest the sample")
    up.add_argument("--port", type=int, help="web port (default 8080 or WIREFEED_PORT)")
    up.add_argument("--categorizers", type=int, help="categorizer worker processes")
    up.add_argument("--no-sample", action="store_true", help="do not ingest the sample dump")
    up.set_defaults(func=cmd_up)

    ing = sub.add_parser("ingest", help="queue wire dumps for ingest")
    ing.add_argument(
        "paths", nargs="+", metavar="PATH", help="wire dump files (plain text, see docs/wire-format.md)"
    )
    ing.add_argument(
        "--wait",
        action="store_true",
        help="wait until stored; print new / updated / unchanged (big dumps: a progress bar on a terminal)",
    )
    ing.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits at most")
    ing.add_argument("--force", action="store_true", help="ingest even what looks like Markdown/HTML/code")
    ing.set_defaults(func=cmd_ingest)

    wk = sub.add_parser("worker", help="run an rq worker")
    wk.add_argument(
        "--queues", default="ingest,categorize", help="comma-separated: ingest, express, categorize, websub"
    )
    wk.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    wk.set_defaults(func=cmd_worker)

    sv = sub.add_parser("serve", help="run the web service (gunicorn)")
    sv.add_argument("--port", type=int, help="port to listen on (default 8080 or WIREFEED_PORT)")
    sv.add_argument("--host", help="address to bind (default 127.0.0.1 or WIREFEED_HOST)")
    sv.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    sv.add_argument("--access-log", action="store_true", help="log every request (costs ~10%% of web CPU)")
    sv.set_defaults(func=cmd_serve)

    ck = sub.add_parser(
        "check-worker", help="exit 0 if live workers on this host serve each of the queues, else 1"
    )
    ck.add_argument(
        "--queues",
        default="ingest,categorize",
        help="comma-separated: ingest, express, categorize, websub; each needs a live worker on this host "
        "(one worker per queue is enough)",
    )
    ck.set_defaults(func=cmd_check_worker)

    fl = sub.add_parser("failed", help="list stories set aside and failed jobs")
    fl.add_argument("--json", action="store_true", help="one JSON object a line")
    fl.set_defaults(func=cmd_failed)

    rt = sub.add_parser("retry", help="re-queue stories set aside and failed jobs")
    rt.set_defaults(func=cmd_retry)

    cl = sub.add_parser(
        "classify",
        help="tag JSON lines from stdin with topics",
        description='Reads JSON lines on stdin, one story each: {"title": ..., "summary": ..., '
        '"body": ..., "id": ...} (summary, body and id optional). Writes one JSON line per input '
        "line to stdout, in order: the id (if given) and title echoed, then topics (best first), "
        'scores and reasons; a bad line gets {"error": ...} and the exit status 2.',
    )
    cl.set_defaults(func=cmd_classify)

    from wirefeed.identity_cmds import register as register_identity
    from wirefeed.newsroom_cmds import register as register_newsroom

    register_identity(sub)
    register_newsroom(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # before any command imports numpy; the processes a command starts inherit it
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(defaults.BLAS_THREADS))
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputRejected as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 2
    except WirefeedError as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        loaded = sys.modules.get("redis")  # only a command that imported redis can meet its errors
        if loaded is None or not isinstance(exc, loaded.ConnectionError):
            raise
        print(f"wirefeed: Redis unavailable: {exc}", file=sys.stderr)
        return 1

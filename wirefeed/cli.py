"""The ``wirefeed`` command line.

    wirefeed up [--port N]             everything: Redis, workers, web; ingests the sample
    wirefeed ingest PATH... [--wait]   queue dumps; --wait prints new / updated / unchanged
    wirefeed worker [--queues ...]     an rq worker (ingest, express, categorize, websub)
    wirefeed serve [--port N]          the web service (gunicorn)
    wirefeed classify                  JSON lines in (title, summary, body), topics out
    wirefeed failed                    stories the categorizer failed on, and failed jobs
    wirefeed retry                     put them back through the pipeline
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

import redis

from wirefeed.config.settings import Settings
from wirefeed.errors import InputRejected, WirefeedError


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
    from wirefeed.feeds.store.connection import connect
    from wirefeed.runtime import resolve_redis_url
    from wirefeed.supervisor import read_dump

    settings = _settings(args)
    client = connect(resolve_redis_url(settings))
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
            print(f"{path}: queued {sub.stories} stories (ingest {sub.ingest_id})")
            continue
        prog = ingests.wait(client, sub.ingest_id, timeout=args.timeout)
        if not prog.done:
            print(
                f"{path}: not done after {args.timeout} s ({prog.batches_done}/{prog.batches} batches)",
                file=sys.stderr,
            )
            status = 1
            continue
        print(
            f"{path}: {prog.new} new, {prog.updated} updated, {prog.unchanged} unchanged"
            f"{f', {prog.withdrawn} withdrawn' if prog.withdrawn else ''}"
            f"{f', {len(sub.errors)} rejected' if sub.errors else ''}"
        )
    return status


def cmd_worker(args: argparse.Namespace) -> int:
    from wirefeed.runtime import resolve_redis_url
    from wirefeed.workers.runner import QUEUES, run_worker

    settings = Settings.from_env()
    settings = settings.with_(redis_url=resolve_redis_url(settings))
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    bad = [q for q in queues if q not in QUEUES]
    if bad:
        print(f"unknown queue(s) {bad}: choose from {sorted(QUEUES)}", file=sys.stderr)
        return 2
    run_worker(settings, queues, burst=args.burst)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from wirefeed.runtime import resolve_redis_url

    settings = _settings(args)
    url = resolve_redis_url(settings)
    env = {**os.environ, "REDIS_URL": url, "WIREFEED_BASE_URL": settings.base_url}
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
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


def cmd_check_worker(args: argparse.Namespace) -> int:
    """Container healthcheck: a worker registered from this host listens on the queues."""
    import socket

    from rq import Worker

    from wirefeed.feeds.store.connection import connect
    from wirefeed.runtime import resolve_redis_url
    from wirefeed.workers.runner import QUEUES

    client = connect(resolve_redis_url(Settings.from_env()))
    wanted = {QUEUES[q.strip()] for q in args.queues.split(",") if q.strip()}
    host = socket.gethostname()
    for worker in Worker.all(connection=client):
        if worker.hostname == host and wanted <= set(worker.queue_names()):
            return 0
    print(f"no live worker on {host} for {sorted(wanted)}", file=sys.stderr)
    return 1


def _client() -> redis.Redis:
    from wirefeed.feeds.store.connection import connect
    from wirefeed.runtime import resolve_redis_url

    return connect(resolve_redis_url(Settings.from_env()))


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
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--wait", action="store_true", help="wait until categorized; print counts")
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
    sv.add_argument("--port", type=int)
    sv.add_argument("--host", help="address to bind (default 127.0.0.1 or WIREFEED_HOST)")
    sv.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    sv.add_argument("--access-log", action="store_true")
    sv.set_defaults(func=cmd_serve)

    ck = sub.add_parser("check-worker", help="exit 0 if a live worker on this host serves the queues")
    ck.add_argument("--queues", default="ingest,categorize")
    ck.set_defaults(func=cmd_check_worker)

    fl = sub.add_parser("failed", help="list stories set aside and failed jobs")
    fl.add_argument("--json", action="store_true", help="one JSON object a line")
    fl.set_defaults(func=cmd_failed)

    rt = sub.add_parser("retry", help="re-queue stories set aside and failed jobs")
    rt.set_defaults(func=cmd_retry)

    cl = sub.add_parser("classify", help="tag JSON lines from stdin with topics")
    cl.set_defaults(func=cmd_classify)

    from wirefeed.newsroom_cmds import register

    register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputRejected as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 2
    except WirefeedError as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 1
    except redis.ConnectionError as exc:
        print(f"wirefeed: Redis unavailable: {exc}", file=sys.stderr)
        return 1

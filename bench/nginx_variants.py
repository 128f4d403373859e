"""The proxy tail, variant by variant: ``config/nginx.conf`` and edits of it in the same run.

Starts the stack as scenario 2 does (Redis, workers, ``wirefeed serve``, a 1,000-story ingest),
nginx serving ``/feeds/sports.atom`` as a static file, and one caching proxy per variant, each
checked as scenario 2 checks them (one GET: the cache is filled; one conditional GET). Then
``wrk -t2 -c32`` 200s against each server in turn, ``--rounds`` times: round 0 is every proxy's
first run after that check, as in scenario 2's first run.

    python -m bench.nginx_variants [--seconds 5] [--rounds 3] [VARIANT ...]

Variants: ``shipped`` (config/nginx.conf as it is), ``lock-500ms`` (the lock as before issue
#18: waiters woken only every 500 ms), ``no-lock``, ``one-worker``, ``no-bg-update``,
``no-open-file-cache``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from bench import nginx
from bench.gen import generate
from bench.harness import Harness
from bench.plan import Plan
from bench.serving import _check, wrk
from bench.stack import Stack, temp_workdir
from wirefeed.redis_server import free_port

LOCK = re.compile(r"proxy_cache_lock_timeout\s+\S+;")

VARIANTS: dict[str, Callable[[str], str]] = {
    "shipped": lambda c: c,
    "lock-500ms": lambda c: LOCK.sub("", c),
    "no-lock": lambda c: LOCK.sub("", c).replace("proxy_cache_lock on;", "proxy_cache_lock off;"),
    "one-worker": lambda c: c.replace("worker_processes auto;", "worker_processes 1;"),
    "no-bg-update": lambda c: c.replace(
        "proxy_cache_background_update on;", "proxy_cache_background_update off;"
    ),
    "no-open-file-cache": lambda c: re.sub(r"open_file_cache[^;]*;", "", c),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.nginx_variants")
    p.add_argument("variants", nargs="*", default=["shipped", "lock-500ms"], help=", ".join(VARIANTS))
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f"no variant {', '.join(sorted(unknown))}")
    with temp_workdir() as workdir:
        stack = Stack(workdir)
        try:
            stack.start_all()
            h = Harness(stack, Plan.quick())
            h.ingest(generate(1000, 3))
            path = "/feeds/sports.atom"
            body = h.web.get(path).body
            ports = {"nginx static": nginx.start_static(stack, {"sports.atom": body})}
            for name in args.variants:
                prefix = nginx._prefix(stack, f"nginx-{name}")
                port = free_port()
                conf = VARIANTS[name](nginx.proxy_conf(prefix, port, stack.web_port))
                nginx._start(stack, f"nginx-{name}", prefix, conf, port)
                ports[name] = port
            for port in ports.values():
                _check(port, path, body)
            for n in range(args.rounds):
                for name, port in ports.items():
                    r = wrk(port, path, seconds=args.seconds, connections=32, threads=2)
                    print(
                        f"round {n} {name:18} {r.rps:9,.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                        f"p99 {r.p99_ms:7.2f} ms  bad {r.bad}",
                        flush=True,
                    )
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

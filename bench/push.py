"""Scenario 6 (``--scenario push``): WebSub push to many subscribers, batched vs one job each.

Subscribers are callbacks ``/cb/<n>`` on :mod:`bench.push_receiver` (one asyncio process, one
"host" per port, verifies each signature, answers 500 to a pseudo-random tenth the first time).
Cases (``Plan.push_cases``): 1,000, 10,000 and 50,000 subscribers of ``/feeds/all.atom``, and
10,000 over 20 topics (the 19 topic feeds in Atom, and ``all.rss``). The first
``HTTP_SUBSCRIBERS`` of each case subscribe over HTTP (``POST /websub``, verified by the
receiver echoing the challenge); the rest are stored directly with
:meth:`WebSubStore.subscribe`, as a verification stores them (50,000 HTTP verifications would
only measure the hub's rate limits, which the bench raises:
``ENV``). Then one dump is posted (express path; it touches every subscribed topic) and timed:

- **last first attempt**: from the story stored (the topics' ``changed`` stamp) to the last
  callback's first delivery;
- **deliveries/s**: subscribers / that time;
- **CPU per delivery**: CPU (user + system) of the websub worker processes and their rq
  schedulers, per POST made (retries included); beside it, the receiver's and Redis's;
- **worker memory**: peak RSS of the largest websub worker (``Plan.push_workers`` of them,
  started afresh for every case and design).

Each case runs the shipped design (``workers.delivery``: one job per batch, concurrent,
kept-alive) and the old one (:mod:`bench.baseline_websub`: one job and one connection per
subscriber) on the same subscriptions; both wait until the failing tenth was retried and got
its 2xx (``WIREFEED_WEBSUB_RETRY=2``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench.client import Http, post_dump, wait_ingest
from bench.gen import generate
from bench.harness import Harness
from bench.report import Row
from bench.stack import PY, descendants
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub.store import Subscription, WebSubStore, subscription_id
from wirefeed.redis_server import free_port

ENV = {
    "WIREFEED_WEBSUB_ALLOW": "127.0.0.1/32",
    "WIREFEED_WEBSUB_RETRY": "2",
    "WIREFEED_WEBSUB_MAX_PER_HOST": "1000000",
    "WIREFEED_WEBSUB_MAX_SUBSCRIPTIONS": "1000000",
    "WIREFEED_WEBSUB_RATE": "1000000",
    "WIREFEED_WEBSUB_GLOBAL_RATE": "1000000",
    "WIREFEED_EXPRESS_MAX_STORIES": "1000",
}
"""What the bench raises: callbacks on loopback, retries after 2 s, no caps or rate limits in
the way, and the trigger dumps on the express path."""
HTTP_SUBSCRIBERS = 20
HOSTS = 10
"""Receiver ports, i.e. callback hosts (each gets ``websub_host_connections`` at most)."""
DESIGNS = ("batched", "one job each")


@dataclass
class Result:
    last_first: float
    """Seconds from the story stored to the last first-attempt delivery."""
    rate: float
    cpu_ms: float
    """Websub worker CPU per POST made."""
    receiver_ms: float
    """The receiver's CPU per POST."""
    redis_ms: float
    """Redis's CPU per POST (everything the stack asked of it meanwhile)."""
    rss_mib: float
    posts: int
    express_cpu_ms: float


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime


def _cpu_seconds(pids: list[int]) -> float:
    import os

    return sum(_ticks(p) for p in pids) / os.sysconf("SC_CLK_TCK")


def _hwm_mib(pid: int) -> float:
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else 0.0


class Push:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.ports = [free_port() for _ in range(HOSTS)]
        self.receiver = Http(self.ports[0])
        base = f"http://127.0.0.1:{h.stack.web_port}"
        self.topics = [f"{base}/feeds/{s}.atom" for s in h.slugs] + [f"{base}/feeds/all.rss"]
        self.trigger = 0

    def stats(self) -> dict[str, float]:
        return json.loads(self.receiver.get("/stats").body)

    def start(self) -> None:
        st = self.h.stack
        st.spawn("push-receiver", [PY, "-m", "bench.push_receiver", *map(str, self.ports)])
        from bench.stack import wait_http

        wait_http(self.ports[0], "/stats", check=st.check)
        st.stop_child("web")
        st.stop_child("express-worker")
        st.start_web(**ENV)

    def workers(self, design: str) -> tuple[list[int], int]:
        """Start the websub workers and the express worker of ``design``; their pids."""
        st = self.h.stack
        env = st.env(**ENV)
        websub = [
            st.spawn(f"push-websub-{n}", [PY, "-m", "wirefeed", "worker", "--queues", "websub"], env).pid
            for n in range(self.h.plan.push_workers)
        ]
        express = (
            [PY, "-m", "wirefeed", "worker", "--queues", "express"]
            if design == "batched"
            else [PY, "-m", "bench.baseline_websub"]
        )
        ex = st.spawn("push-express", express, env)
        st.wait_workers(len(websub), keys.WEBSUB_QUEUE)
        st.wait_workers(1, keys.EXPRESS_QUEUE)
        return websub, ex.pid

    def stop_workers(self) -> None:
        for name in [n for n in self.h.stack.children if n.startswith("push-websub")] + ["push-express"]:
            self.h.stack.stop_child(name)
        r = self.h.r
        for q in (keys.WEBSUB_QUEUE, keys.EXPRESS_QUEUE):
            r.delete(f"rq:workers:{q}")

    def subscribe(self, n: int, topics: int) -> None:
        """``n`` subscriptions over the first ``topics`` topics (see the module's docstring)."""
        r, web = self.h.r, self.h.web
        for key in r.scan_iter(match="wf:websub:*", count=5000):
            r.unlink(key)
        store = WebSubStore(r)
        now = int(time.time())
        for i in range(n):
            topic = self.topics[i % topics]
            callback = f"http://127.0.0.1:{self.ports[i % HOSTS]}/cb/{i}"
            if i < HTTP_SUBSCRIBERS:
                form = f"hub.mode=subscribe&hub.topic={topic}&hub.callback={callback}&hub.secret=secret-{i}"
                resp = web.request(
                    "POST", "/websub", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
                )
                if resp.status != 202:
                    raise RuntimeError(f"POST /websub: {resp.status} {resp.body[:200]!r}")
                continue
            slug, fmt = topic.rsplit("/", 1)[1].split(".")
            sub_id = subscription_id(topic, callback)
            sub = Subscription(sub_id, topic, slug, fmt, callback, f"secret-{i}", 86400, now + 86400, now)
            store.subscribe(sub)
        deadline = time.monotonic() + 60
        while r.zcard(keys.WEBSUB_ALL) < n:  # the HTTP ones verified by the receiver
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {r.zcard(keys.WEBSUB_ALL)} of {n} subscriptions verified")
            time.sleep(0.05)

    def measure(self, n: int, topics: int, websub: list[int], express_pid: int) -> Result:
        h = self.h
        self.receiver.request("POST", "/reset")
        pids = [p for pid in websub for p in (pid, *descendants(pid))]
        assert h.stack.redis_server is not None and h.stack.redis_server.proc is not None
        others = [h.stack.children["push-receiver"].pid, h.stack.redis_server.proc.pid]
        cpu0, ex0 = _cpu_seconds(pids), _cpu_seconds([express_pid])
        rec0, red0 = (_cpu_seconds([p]) for p in others)
        self.trigger += 1
        dump = generate(1 if topics == 1 else 300, seed=1000 + self.trigger)
        slugs = sorted({t.rsplit("/", 1)[1].split(".")[0] for t in self.topics[:topics]})
        wait_ingest(h.r, post_dump(h.web, dump), 120)
        stored = min(int(h.r.hget(keys.topic_meta(slug), "changed") or 0) for slug in slugs) / 1e6
        deadline = time.monotonic() + 120 + n / 100
        while (s := self.stats())["delivered"] < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"push: {s} after {n / 100 + 120:.0f} s ({n} subscribers)")
            time.sleep(0.1)
        s = self.stats()
        cpu = _cpu_seconds(pids) - cpu0
        rec, red = (_cpu_seconds([p]) - c0 for p, c0 in zip(others, (rec0, red0), strict=True))
        if s["bad_signatures"]:
            raise RuntimeError(f"push: {s['bad_signatures']} deliveries with a wrong signature")
        last = s["first_max"] - stored
        return Result(
            last, n / last, cpu / s["posts"] * 1000, rec / s["posts"] * 1000, red / s["posts"] * 1000,
            max(map(_hwm_mib, websub)), int(s["posts"]),
            (_cpu_seconds([express_pid]) - ex0) * 1000,
        )  # fmt: skip

    def settle(self) -> None:
        """Until nothing is left queued or scheduled on the websub queue."""
        from rq import Queue
        from rq.registry import ScheduledJobRegistry

        q = Queue(keys.WEBSUB_QUEUE, connection=self.h.r)
        deadline = time.monotonic() + 60
        while (q.count or ScheduledJobRegistry(queue=q).count) and time.monotonic() < deadline:
            time.sleep(0.1)


def run(h: Harness) -> list[Row]:
    h.stack.reset()
    h.ingest(generate(h.plan.serve_stories, h.plan.seed + 6))  # full feeds: 50 items each
    push = Push(h)
    push.start()
    results: dict[tuple[int, int, str], Result] = {}
    try:
        for n, topics in h.plan.push_cases:
            for design in DESIGNS:
                websub, express = push.workers(design)
                try:
                    if design == DESIGNS[0]:
                        push.subscribe(n, topics)
                    push.settle()
                    res = push.measure(n, topics, websub, express)
                    push.settle()
                finally:
                    push.stop_workers()
                results[(n, topics, design)] = res
                h.say(
                    f"scenario 6: {n:,} subscribers over {topics} topic(s), {design}: last first attempt "
                    f"{res.last_first:.2f} s, {res.rate:,.0f} deliveries/s, {res.cpu_ms:.3f} ms CPU per POST "
                    f"(receiver {res.receiver_ms:.3f}, Redis {res.redis_ms:.3f}) "
                    f"({res.posts:,} POSTs), worker peak RSS {res.rss_mib:.1f} MiB, notify+ingest CPU "
                    f"{res.express_cpu_ms:.0f} ms"
                )
    finally:
        h.stack.stop_child("push-receiver")
        h.stack.stop_child("web")
        h.stack.start_web()
        h.stack.spawn("express-worker", [PY, "-m", "wirefeed", "worker", "--queues", "express"])
    return rows(results, h.plan.push_cases)


def rows(results: dict[tuple[int, int, str], Result], cases: tuple[tuple[int, int], ...]) -> list[Row]:
    new, old = DESIGNS
    out = []
    for n, topics in cases:
        label = f"{n:,} subscribers" + (" of 1 topic" if topics == 1 else f" over {topics} topics")
        a, b = results[(n, topics, new)], results[(n, topics, old)]
        first = Row(
            "6", f"push, {label}: story stored -> last first-attempt delivery", a.last_first, "s",
            baseline="one rq job + connection per delivery", baseline_value=b.last_first,
            target="≤ 3 s" if (n, topics) == (10_000, 1) else "",
        )  # fmt: skip
        if first.target:
            first.met = a.last_first <= 3.0
        rate = Row(
            "6", f"push, {label}: deliveries/s", a.rate, "deliveries/s",
            baseline="one rq job + connection per delivery", baseline_value=b.rate,
            target="≥ 3,000/s" if n >= 10_000 else "",
        )  # fmt: skip
        if rate.target:
            rate.met = a.rate >= 3000
        cpu = Row(
            "6", f"push, {label}: websub worker CPU per delivery", a.cpu_ms, "ms",
            baseline="one rq job + connection per delivery", baseline_value=b.cpu_ms,
        )  # fmt: skip
        mem = Row(
            "6", f"push, {label}: websub worker peak RSS", a.rss_mib, "MiB",
            baseline="one rq job + connection per delivery", baseline_value=b.rss_mib,
        )  # fmt: skip
        first.note = (
            f"POSTs made (retries included): {a.posts:,} batched, {b.posts:,} old; CPU per POST of the "
            f"receiver {a.receiver_ms:.3f} ms and Redis {a.redis_ms:.3f} ms batched ({b.receiver_ms:.3f} "
            f"and {b.redis_ms:.3f} old); CPU of the express "
            f"worker (ingest + notify): {a.express_cpu_ms:.0f} ms batched, {b.express_cpu_ms:.0f} ms old"
        )
        out += [first, rate, cpu, mem]
    one = [n for n, topics in cases if topics == 1]
    small, large = results[(min(one), 1, new)].rss_mib, results[(max(one), 1, new)].rss_mib
    flat = Row(
        "6", f"push: websub worker peak RSS, {max(one):,} vs {min(one):,} subscribers", large, "MiB",
        baseline=f"{min(one):,} subscribers", baseline_value=small, target="≤ 1.1x (flat)",
    )  # fmt: skip
    flat.met = large <= small * 1.1
    return [*out, flat]

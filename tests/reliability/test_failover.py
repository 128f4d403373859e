"""Redis failover under Sentinel: the primary is SIGKILLed and the replica promoted, with no
process of wirefeed restarted.

A primary and a replica (the system ``redis-server``, AOF on both) and three ``redis-sentinel``
processes on 127.0.0.1; two web processes, two ingest workers, two categorizer workers and a
WebSub worker, all finding the primary through the Sentinels (``REDIS_SENTINELS``) and the web
answering 202 only once a replica holds the dump (``WIREFEED_MIN_REPLICAS=1``); a local
WebSub subscriber.

- mid-ingest: a 20,000-story dump is being categorized, small dumps are being posted to both
  web processes and feeds read from both, when the primary is killed;
- quiet: nothing runs when the primary is killed; dumps are posted once it is back.

Then: every story of every dump that got a 202 is stored exactly once, with the topics a clean
run gives it; a dump that got a 503 is stored whole or not at all; every feed response of both
web processes was 200/304 (stale from memory while there was no primary) or 503, never
another 5xx, and both serve fresh feeds after the switch; WebSub deliveries resume; nothing is
left queued, started or failed; no process exited. Each run prints its timings (seconds without
a primary, seconds until the ingest went on) for ``docs/reliability.md``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from tests.reliability.conftest import AUTH, Proc, Stack, settings_for, wait_for
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.ha import Receiver, Topology, require_sentinel
from tests.reliability.observe import rq_leftovers, snapshot, stored_once
from wirefeed.config import defaults
from wirefeed.config.settings import TOPICS_PATH
from wirefeed.feeds.categorize import TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.stories.build import summarise
from wirefeed.feeds.stories.parse import parse_dump
from wirefeed.feeds.websub import hub
from wirefeed.redis_server import free_port

BIG = 20_000
SMALL = 20
"""Stories per small dump posted while the big one runs (and after the switch)."""
SMALL_DUMPS = 150
QUIET = 500
BATCH = "500"
"""Stories per categorizer job here (40 jobs for the big dump)."""
FEEDS = ("/feeds/all.atom", "/feeds/all.json", "/feeds/politics.rss", "/feeds/science.atom")
DONE_TIMEOUT = 300.0
"""Generous: on 2 busy cores the big dump takes a minute or two, plus the failover."""

TITLES = unique_titles(BIG + SMALL * (SMALL_DUMPS + 4) + QUIET, seed=141)
BIG_TITLES = TITLES[:BIG]
SMALL_TITLES = [TITLES[BIG + i * SMALL : BIG + (i + 1) * SMALL] for i in range(SMALL_DUMPS + 4)]
QUIET_TITLES = TITLES[-QUIET:]


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[str, ...]]:
    """Title -> topics, from the categorizer the workers run, in this process, on the tagging
    input :func:`wirefeed.workers.plan.plan_batch` gives it for a new story (title, summary as
    the story is built, body)."""
    require_sentinel()
    parsed = parse_dump(dump(TITLES), max_bytes=10 * len(dump(TITLES))).stories
    categorizer = build_categorizer(Taxonomy.load(TOPICS_PATH))
    inputs = [
        TaggingInput(p.title, summarise(p, defaults.SUMMARY_CHARS), TaggingInput.from_story(p).body)
        for p in parsed
    ]
    tags = categorizer.categorize_many(inputs)
    out = {p.title: tuple(sorted(t.slug for t in tt)) for p, tt in zip(parsed, tags, strict=True)}
    assert len(out) == len(TITLES)
    return out


@dataclass
class Service:
    topo: Topology
    stack: Stack
    webs: list[str]
    public: str
    procs: list[Proc]
    subscriber: Receiver

    def client(self) -> redis.Redis:
        return self.topo.client()

    def check_alive(self) -> None:
        for p in self.procs:
            assert p.alive(), f"{p.name} exited ({p.popen.returncode}): " + " | ".join(
                p.output().splitlines()[-3:]
            )


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    topo = Topology(tmp_path / "redis")
    stack = Stack(tmp_path)
    receiver = Receiver()
    server = receiver.serve()
    try:
        ports = [free_port(), free_port()]
        public = f"http://127.0.0.1:{ports[0]}"
        extra = {
            **topo.env(),
            "WIREFEED_MIN_REPLICAS": "1",
            "WIREFEED_REPLICA_WAIT": "1",
            "WIREFEED_BATCH_SIZE": BATCH,
            "WIREFEED_WEBSUB_ALLOW_PRIVATE": "1",
            "WIREFEED_BASE_URL": public,
            "WIREFEED_INGEST_RATE": "100000",  # the test posts from one address, often
        }
        env = stack.env("", **extra)
        procs = []
        for port in ports:
            argv = [sys.executable, "-m", "wirefeed", "serve", "--port", str(port), "--workers", "1"]
            procs.append(stack.spawn("web", argv, env))
        for queues in ("ingest", "ingest", "categorize", "categorize", "websub"):
            argv = [sys.executable, "-m", "wirefeed", "worker", "--queues", queues]
            procs.append(stack.spawn(f"worker-{queues}", argv, env))
        webs = [f"http://127.0.0.1:{p}" for p in ports]
        for base in webs:
            wait_for(f"{base} is up", lambda b=base: requests.get(f"{b}/healthz", timeout=2).ok, timeout=60)
        svc = Service(topo, stack, webs, public, procs, receiver)
        _subscribe(svc)
        yield svc
    finally:
        stack.stop_all()
        topo.stop()
        server.shutdown()
        server.server_close()


def _subscribe(svc: Service) -> None:
    topic, callback = f"{svc.public}/feeds/all.json", f"{svc.subscriber.url}/hook"
    resp = requests.post(
        f"{svc.webs[1]}/websub",
        data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    wait_for(
        "the subscription is verified",
        lambda: hub.status(svc.client(), topic, callback)["subscription"] is not None,
        timeout=60,
    )


def post(base: str, titles: tuple[str, ...] | list[str]) -> requests.Response:
    return requests.post(f"{base}/api/ingest", data=dump(titles), headers=AUTH, timeout=60)


def post_until_accepted(base: str, titles: tuple[str, ...], refused: list[tuple[str, ...]]) -> str:
    """Post a dump until it gets a 202 (a 503 while the web process has no primary, or the
    primary no replica, is noted in ``refused``); return its ingest id."""

    def accepts() -> str | None:
        r = post(base, titles)
        assert r.status_code in (202, 503), r.text
        if r.status_code == 503:
            refused.append(titles)
            return None
        return r.json()["ingest_id"]

    return wait_for(f"{base} accepts a dump", accepts, timeout=90, poll=0.2)


def delivered_after(svc: Service, since: float, title: str) -> bool:
    return any(title in r.body.decode() for r in svc.subscriber.received("/hook") if r.at >= since)


@dataclass
class Traffic:
    """Readers of both web processes' feeds and a poster of small dumps, in threads."""

    svc: Service
    reads: list[tuple[float, str, str, int, bool]] = field(default_factory=list)
    """(time, web, path, status, stale)."""
    posted: list[tuple[float, tuple[str, ...], int, str]] = field(default_factory=list)
    """(time, titles, status, ingest id or '')."""
    stop: threading.Event = field(default_factory=threading.Event)

    def read_loop(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            for base in self.svc.webs:
                for path in FEEDS:
                    try:
                        r = session.get(base + path, timeout=30)
                        status, stale = r.status_code, "Warning" in r.headers
                    except requests.RequestException:
                        status, stale = -1, False  # no answer at all: fails the test below
                    self.reads.append((time.monotonic(), base, path, status, stale))
            time.sleep(0.25)

    def post_loop(self) -> None:
        for n, titles in enumerate(SMALL_TITLES[:SMALL_DUMPS]):
            if self.stop.is_set():
                return
            try:
                r = post(self.svc.webs[n % 2], titles)
                status, ingest = r.status_code, r.json()["ingest_id"] if r.status_code == 202 else ""
            except requests.RequestException:
                status, ingest = -1, ""
            self.posted.append((time.monotonic(), tuple(titles), status, ingest))
            time.sleep(0.5)

    def __enter__(self) -> Traffic:
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.read_loop, self.post_loop)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def wait_done(svc: Service, ingest_id: str, timeout: float = DONE_TIMEOUT) -> ingests.Progress:
    def done() -> ingests.Progress | None:
        svc.check_alive()
        p = ingests.progress(svc.client(), ingest_id)
        return p if p.done else None

    return wait_for(
        f"ingest {ingest_id} completes",
        done,
        timeout,
        poll=0.2,
        explain=lambda: f"{ingests.progress(svc.client(), ingest_id)}; rq: {rq_leftovers(svc.client())}",
    )


def failover(svc: Service) -> tuple[float, float]:
    """SIGKILL the primary and wait for the Sentinels to promote the replica; then start the
    dead node again (as an operator or an orchestrator would), and the Sentinels make it a
    replica of the new primary (so ``WAIT 1`` can succeed again). Returns when the primary was
    killed and when the new one answered as the primary (monotonic seconds)."""
    old = svc.topo.primary()
    killed = time.monotonic()
    old.kill()
    new = next(n for n in svc.topo.data if n is not old)
    wait_for(
        "the Sentinels promote the replica",
        lambda: svc.topo.primary_port() == new.port and svc.topo.is_primary(new),
        timeout=60,
        poll=0.05,
    )
    promoted = time.monotonic()
    old.start()
    return killed, promoted


def settle(svc: Service) -> None:
    """Wait until no dump waits for its job (``wf:unqueued``: a primary lost between replicating
    a dump and queueing its job) and nothing is queued, started or failed."""
    wait_for("no dump left unqueued", lambda: svc.client().zcard("wf:unqueued") == 0, timeout=90, poll=0.5)
    wait_for(
        "nothing is left queued, started or failed", lambda: rq_leftovers(svc.client()) == {}, timeout=60
    )


def check_stored(
    svc: Service, reference: dict[str, tuple[str, ...]], accepted: list[str], refused: list[tuple[str, ...]]
) -> None:
    """Every accepted title once with its reference topics; every refused dump whole or not at
    all; nothing else; the indexes, logs and feeds consistent."""
    primary = svc.topo.primary()
    snap = snapshot(svc.client(), settings_for(f"redis://127.0.0.1:{primary.port}/0"))
    titles = list(snap.titles.values())
    stored = set(titles)
    assert len(titles) == len(stored), "a title is stored as two stories"
    missing = [t for t in accepted if t not in stored]
    assert missing == [], f"{len(missing)} accepted stories lost, e.g. {missing[:3]}"
    for dump_titles in refused:
        there = [t for t in dump_titles if t in stored]
        assert len(there) in (0, len(dump_titles)), (
            f"a refused dump half stored: {len(there)} of {len(dump_titles)}"
        )
    allowed = set(accepted) | {t for d in refused for t in d}
    assert stored <= allowed, f"stories nobody posted: {sorted(stored - allowed)[:3]}"
    wrong = [t for sid, t in snap.titles.items() if snap.topics_of[sid] != reference[t]]
    assert wrong == [], f"{len(wrong)} stories with other topics than in the clean run, e.g. {wrong[:3]}"
    assert stored_once(snap) == []


def check_fresh(svc: Service, before: dict[tuple[str, str], str]) -> None:
    """Both web processes serve current feeds from the new primary."""
    for base in svc.webs:
        for path in FEEDS:
            r = requests.get(base + path, timeout=10)
            assert r.status_code == 200 and "Warning" not in r.headers, (base, path, r.status_code)
        etag = requests.get(base + FEEDS[0], timeout=10).headers["ETag"]
        assert etag != before[(base, FEEDS[0])], "the feed did not change after the switch"


def served(svc: Service) -> dict[tuple[str, str], str]:
    """Read every feed from both web processes (each remembers what it served); their ETags."""
    out = {}
    for base in svc.webs:
        for path in FEEDS:
            r = requests.get(base + path, timeout=10)
            assert r.status_code == 200, (base, path, r.status_code)
            out[(base, path)] = r.headers["ETag"]
    return out


def report(name: str, killed: float, promoted: float, resumed: float, accepting: float) -> None:
    print(
        f"\nfailover[{name}]: {promoted - killed:.1f} s without a primary; the ingest went on "
        f"{resumed - killed:.1f} s and the API accepted dumps again {accepting - killed:.1f} s "
        "after the kill"
    )


def test_primary_killed_mid_ingest_loses_no_accepted_story(
    service: Service, reference: dict[str, tuple[str, ...]]
) -> None:
    svc = service
    warm = SMALL_TITLES[-1]
    wait_done(svc, post(svc.webs[0], warm).json()["ingest_id"])
    before = served(svc)

    big = post(svc.webs[0], BIG_TITLES)
    assert big.status_code == 202, big.text
    big_id = big.json()["ingest_id"]
    with Traffic(svc) as traffic:
        wait_for(
            "the big ingest is a third done",
            lambda: (
                (p := ingests.progress(svc.client(), big_id)).batches and p.batches_done >= p.batches // 3
            ),
            timeout=DONE_TIMEOUT,
            poll=0.1,
        )
        at_kill = ingests.progress(svc.client(), big_id).batches_done
        old = svc.topo.primary()
        old.kill()
        killed = time.monotonic()
        refused = post(svc.webs[1], SMALL_TITLES[-2])
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0, refused.text
        new = next(n for n in svc.topo.data if n is not old)
        wait_for(
            "the Sentinels promote the replica",
            lambda: svc.topo.primary_port() == new.port and svc.topo.is_primary(new),
            timeout=60,
            poll=0.05,
        )
        promoted = time.monotonic()
        old.start()  # back as a replica of the new primary (the Sentinels see to it)
        wait_for(
            "the big ingest goes on",
            lambda: ingests.progress(svc.client(), big_id).batches_done > at_kill,
            timeout=DONE_TIMEOUT,
            poll=0.1,
        )
        resumed = time.monotonic()
        wait_done(svc, big_id)
        traffic.stop.set()
    refused_after: list[tuple[str, ...]] = []
    accepted_after: list[float] = []
    for n, base in enumerate(svc.webs):
        ingest = post_until_accepted(base, SMALL_TITLES[-3 - n], refused_after)
        accepted_after.append(time.monotonic())
        wait_done(svc, ingest)
    accepting = min([t for t, _, s, _ in traffic.posted if s == 202 and t > killed] + accepted_after)
    report("mid-ingest", killed, promoted, resumed, accepting)
    wait_for(
        "a WebSub delivery of a story posted after the switch",
        lambda: delivered_after(svc, promoted, SMALL_TITLES[-4][0]),
        timeout=60,
        poll=0.2,
    )

    statuses = {s for *_, s, _ in traffic.reads}
    assert statuses <= {200, 304, 503}, statuses
    assert [r for r in traffic.reads if r[3] != 200] == [], "a feed served before was not served stale"
    stale = [r for r in traffic.reads if r[4]]
    assert {r[1] for r in traffic.reads if r[0] > promoted} == set(svc.webs)
    posted_statuses = {s for _, _, s, _ in traffic.posted}
    assert posted_statuses <= {202, 503}, posted_statuses
    for _, _, status, ingest in traffic.posted:
        if status == 202:
            wait_done(svc, ingest)
    accepted = [*warm, *BIG_TITLES, *(t for _, d, s, _ in traffic.posted if s == 202 for t in d)]
    accepted += [*SMALL_TITLES[-3], *SMALL_TITLES[-4]]
    refused_dumps = [SMALL_TITLES[-2], *(d for _, d, s, _ in traffic.posted if s == 503), *refused_after]
    settle(svc)
    check_stored(svc, reference, accepted, refused_dumps)
    check_fresh(svc, before)
    svc.check_alive()
    print(
        f"failover[mid-ingest]: {len(traffic.reads)} feed reads ({len(stale)} stale), "
        f"{sum(1 for p in traffic.posted if p[2] == 202)} dumps accepted and "
        f"{sum(1 for p in traffic.posted if p[2] == 503)} refused while it ran"
    )


def test_primary_killed_in_a_quiet_period_loses_nothing(
    service: Service, reference: dict[str, tuple[str, ...]]
) -> None:
    svc = service
    first = post(svc.webs[0], QUIET_TITLES)
    assert first.status_code == 202, first.text
    wait_done(svc, first.json()["ingest_id"])
    before = served(svc)

    killed, promoted = failover(svc)
    for base in svc.webs:  # while the web's clients may still be finding the new primary
        for path in FEEDS:
            r = requests.get(base + path, timeout=30)
            assert r.status_code == 200, (base, path, r.status_code)

    # Post to both web processes until each accepts (a 503 until it found the new primary and
    # the primary a replica).
    refused: list[tuple[str, ...]] = []
    accepted: list[str] = [*QUIET_TITLES]
    resumed = 0.0
    for n, base in enumerate(svc.webs):
        ingest = post_until_accepted(base, SMALL_TITLES[n], refused)
        resumed = resumed or time.monotonic()
        accepted += SMALL_TITLES[n]
        wait_done(svc, ingest)
    report("quiet", killed, promoted, resumed, resumed)
    wait_for(
        "a WebSub delivery of a story posted after the switch",
        lambda: delivered_after(svc, promoted, SMALL_TITLES[1][0]),
        timeout=60,
        poll=0.2,
    )
    settle(svc)
    check_stored(svc, reference, accepted, refused)
    check_fresh(svc, before)
    svc.check_alive()

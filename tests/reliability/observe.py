"""Reading what wirefeed stored, to compare a run that was hurt against a clean one.

Compared are story ids (per topic index, per change log, per feed), never times: two runs of the
same dump give the same ids and topics but different stamps.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.store import keys
from wirefeed.services.app import create_app

FEED_LIMIT_FULL = 200
"""``?limit=`` of the full feed compared (the newest stories of the index, whatever the log order)."""


@dataclass
class Snapshot:
    index: dict[str, set[str]]
    """Topic slug (and ``all``) -> story ids in its index."""
    topics_of: dict[str, tuple[str, ...]]
    """Story id -> its topic slugs, as stored in the story."""
    titles: dict[str, str]
    """Story id -> title."""
    feeds: dict[str, list[str]]
    """``<slug>.<fmt>[?limit=200]`` -> item ids in feed order (the current feed truncated to the
    newest ``feed_limit`` items: its tail holds unarchived changes, which follow batch order)."""
    logs: dict[str, Counter[str]]
    """Topic slug -> how often each story id appears in its change log."""


def slugs(settings: Settings) -> list[str]:
    return [keys.ALL_TOPIC, *Taxonomy.load(settings.topics_path).topics]


def snapshot(client: redis.Redis, settings: Settings) -> Snapshot:
    all_slugs = slugs(settings)
    index = {s: {i.decode() for i in client.zrange(keys.topic_index(s), 0, -1)} for s in all_slugs}
    ids = sorted(index[keys.ALL_TOPIC])
    stories = [json.loads(raw) for raw in client.mget([keys.story(i) for i in ids])] if ids else []
    topics_of = {d["id"]: tuple(sorted(t[0] for t in d["topics"])) for d in stories}
    titles = {d["id"]: d["title"] for d in stories}
    logs = {
        s: Counter(e.decode().rpartition(":")[0] for e in client.lrange(keys.topic_log(s), 0, -1))
        for s in all_slugs
    }
    app = create_app(settings, client)
    feeds: dict[str, list[str]] = {}
    with app.test_client() as http:
        for s in all_slugs:
            current = http.get(f"/feeds/{s}.json")
            assert current.status_code == 200, (s, current.status_code)
            feeds[f"{s}.json"] = [i["id"] for i in current.get_json()["items"]][: settings.feed_limit]
            full = http.get(f"/feeds/{s}.json?limit={FEED_LIMIT_FULL}")
            assert full.status_code == 200, (s, full.status_code)
            feeds[f"{s}.json?limit={FEED_LIMIT_FULL}"] = [i["id"] for i in full.get_json()["items"]]
            atom = http.get(f"/feeds/{s}.atom")
            assert atom.status_code == 200, (s, atom.status_code)
            feeds[f"{s}.atom"] = _atom_ids(atom.data)[: settings.feed_limit]
    return Snapshot(index, topics_of, titles, feeds, logs)


def _atom_ids(body: bytes) -> list[str]:
    from lxml import etree

    ns = {"a": "http://www.w3.org/2005/Atom"}
    return [str(x) for x in etree.fromstring(body).xpath("/a:feed/a:entry/a:id/text()", namespaces=ns)]


def stored_once(snap: Snapshot) -> list[str]:
    """Problems with "every story is stored exactly once": an empty list when it holds."""
    problems = []
    for slug, counts in snap.logs.items():
        twice = sorted(i for i, n in counts.items() if n > 1)
        if twice:
            problems.append(f"{slug}: {len(twice)} stories logged more than once, e.g. {twice[:3]}")
        if set(counts) != snap.index[slug]:
            problems.append(f"{slug}: change log and index hold different stories")
    for sid, topics in snap.topics_of.items():
        for t in topics:
            if sid not in snap.index.get(t, set()):
                problems.append(f"story {sid} tagged {t} is missing from that topic's index")
    for slug, ids in snap.index.items():
        for sid in ids:
            if slug != keys.ALL_TOPIC and slug not in snap.topics_of.get(sid, ()):
                problems.append(f"story {sid} is in the {slug} index but not tagged {slug}")
    return problems


def compare(got: Snapshot, want: Snapshot) -> list[str]:
    """Differences between a run and the clean reference (an empty list when they match)."""
    problems = []
    for slug in want.index:
        lost = want.index[slug] - got.index.get(slug, set())
        extra = got.index.get(slug, set()) - want.index[slug]
        if lost or extra:
            problems.append(f"topic {slug}: {len(lost)} stories missing, {len(extra)} extra")
    wrong = [i for i in want.topics_of if got.topics_of.get(i) != want.topics_of[i]]
    if wrong:
        problems.append(f"{len(wrong)} stories with other topics than in the clean run, e.g. {wrong[:3]}")
    for name in want.feeds:
        if got.feeds.get(name) != want.feeds[name]:
            problems.append(f"feed {name} differs from the clean run")
    return problems


def _is_periodic(client: redis.Redis, job_id: str) -> bool:
    """Whether a job is the periodic retention run (queued as ingests finish, at most
    hourly), not work an ingest left behind."""
    return keys.RETENTION_JOB.encode() in (client.hget(f"rq:job:{job_id}", "description") or b"")


def _why_failed(client: redis.Redis, job_id: str) -> str:
    """A failed job's id and the last line of its traceback (what a test failure should name)."""
    try:
        exc = Job.fetch(job_id, connection=client).exc_info or ""
    except NoSuchJobError:
        exc = ""
    last = exc.strip().splitlines()[-1:] or ["no traceback kept"]
    return f"{job_id}: {last[0]}"


def rq_leftovers(client: redis.Redis, *, periodic: bool = False) -> dict[str, list[str]]:
    """Jobs still queued, started or failed in wirefeed's queues (a failed job with the last line
    of its traceback; the periodic retention run only with ``periodic``), and set-aside stories."""
    out: dict[str, list[str]] = {}

    def skip(job_id: str) -> bool:
        return not periodic and _is_periodic(client, job_id)

    for name in (keys.INGEST_QUEUE, keys.CATEGORIZE_QUEUE):
        q = Queue(name, connection=client)
        for what, ids in (
            ("queued", [j for j in q.get_job_ids() if not skip(j)]),
            (
                "started",
                [j for j in StartedJobRegistry(queue=q).get_job_ids(cleanup=False) if not skip(j)],
            ),
            (
                "failed",
                [_why_failed(client, j) for j in FailedJobRegistry(queue=q).get_job_ids(cleanup=False)],
            ),
            ("intermediate", [i.decode() for i in client.lrange(q.intermediate_queue_key, 0, -1)]),
        ):
            if ids:
                out[f"{name} {what}"] = ids
    poisoned = [k.decode() for k in client.hkeys(keys.POISON)]
    if poisoned:
        out["poisoned stories"] = poisoned
    return out


def leftovers_settled(client: redis.Redis, timeout: float = 20.0) -> dict[str, list[str]]:
    """:func:`rq_leftovers` once rq has recorded the end of the last jobs: ``{}``, or what is
    still left after ``timeout`` s. (An ingest is done inside its last job, a moment before rq
    moves that job out of its started registry.)"""
    deadline = time.monotonic() + timeout
    while (left := rq_leftovers(client)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left

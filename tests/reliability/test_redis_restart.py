"""Guarantee 2: Redis crashes (SIGKILL) and comes back in the middle of an ingest.

- Redis runs with AOF persistence (:class:`wirefeed.redis_server.EmbeddedRedis`, data in its own
  folder): every write Redis acknowledged is there again after the restart;
- while it is down, ``POST /api/ingest`` gets 503 with ``Retry-After`` (never a 202 for data that
  was not stored), feeds served before are served from memory (200, same ETag, ``Warning``),
  a feed never served gets 503 (not 500);
- the worker processes and the web service reconnect by themselves: no process is restarted,
  the ingest that was running completes, and a new one goes through.
"""

from __future__ import annotations

import time

import requests

from tests.reliability.conftest import (
    AUTH,
    RedisServer,
    Stack,
    post,
    settings_for,
    wait_for,
    wait_ingest,
)
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.observe import leftovers_settled, rq_leftovers, snapshot, stored_once
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys

SERVED = ("/feeds/all.atom", "/feeds/all.rss", "/feeds/politics.json", "/feeds/science.atom")
"""Feeds read before Redis goes down (each web process remembers what it served)."""
NEVER_SERVED = "/feeds/sports.rss"
DOWN_SECONDS = 4.0
"""How long Redis stays down: longer than the clients' own retries (~1 s), so every process
really sees the outage."""


def test_redis_killed_mid_ingest_loses_nothing_and_everyone_reconnects(
    redis_server: RedisServer, stack: Stack
) -> None:
    url = redis_server.url()
    client = redis_server.client()
    titles = unique_titles(1500, seed=51)
    first, during, after = titles[:300], titles[300:1300], titles[1300:]
    web, base = stack.web(url)
    workers = [stack.worker(url, "ingest"), stack.worker(url, "categorize")]

    wait_ingest(base, post(base, dump(first)))
    before = {}
    for path in SERVED:
        resp = requests.get(base + path, timeout=10)
        assert resp.status_code == 200
        before[path] = resp

    accepted = post(base, dump(during))
    assert accepted.status_code == 202
    ingest_id = accepted.json()["ingest_id"]
    wait_for(
        "the second ingest is half-way",
        lambda: (p := ingests.progress(client, ingest_id)).batches and 3 <= p.batches_done < p.batches - 5,
        timeout=120,
    )
    redis_server.kill()

    refused = post(base, dump(after))
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    for path, old in before.items():
        stale = requests.get(base + path, timeout=10)
        assert stale.status_code == 200, (path, stale.status_code)
        assert stale.headers["ETag"] == old.headers["ETag"]
        assert stale.content == old.content
        assert "110" in stale.headers["Warning"]
        again = requests.get(base + path, headers={"If-None-Match": old.headers["ETag"]}, timeout=10)
        assert again.status_code == 304
    unknown = requests.get(base + NEVER_SERVED, timeout=10)
    assert unknown.status_code == 503 and "Retry-After" in unknown.headers
    assert requests.get(f"{base}/healthz", timeout=10).status_code == 503
    assert requests.get(f"{base}/", timeout=10).status_code == 503
    status = requests.get(f"{base}/api/ingest/{ingest_id}", headers=AUTH, timeout=10)
    assert status.status_code == 503
    time.sleep(DOWN_SECONDS)
    redis_server.start()

    # Everything that was acknowledged is there; the interrupted ingest completes, done by the
    # same worker processes (none may have exited: nothing would restart it under `wirefeed up`).
    def completed() -> object:
        for proc in (web, *workers):
            assert proc.alive(), (
                f"{proc.name} exited ({proc.popen.returncode}) when Redis went away: "
                + " | ".join(proc.output().splitlines()[-2:])
            )
        return (p := ingests.progress(client, ingest_id)).done and p

    done = wait_for(
        "the interrupted ingest completes after the restart",
        completed,
        timeout=120,
        poll=0.2,
        explain=lambda: f"{ingests.progress(client, ingest_id)}; rq: {rq_leftovers(client)}",
    )
    assert (done.new, done.updated, done.failed) == (len(during), 0, 0)
    # The dump refused while Redis was down is accepted once it is back.
    wait_ingest(base, post(base, dump(after)))

    fresh = requests.get(base + SERVED[0], timeout=10)
    assert fresh.status_code == 200 and "Warning" not in fresh.headers
    assert fresh.headers["ETag"] != before[SERVED[0]].headers["ETag"]
    assert web.alive() and all(w.alive() for w in workers), "a process died instead of reconnecting"
    assert leftovers_settled(client) == {}
    snap = snapshot(client, settings_for(url))
    assert sorted(snap.titles.values()) == sorted(titles)
    assert stored_once(snap) == []
    assert client.zcard(keys.topic_index(keys.ALL_TOPIC)) == len(titles)

"""CDN-ready caching: every feed and page names what it shows in ``Surrogate-Key`` and
``Cache-Tag``, on the fast path and on Flask's; purges are queued after a publish and sent to
``WIREFEED_PURGE_URL`` (a local HTTP receiver), failures raised for rq to retry."""

from __future__ import annotations

import json

import pytest
import redis
import requests
from rq import Queue
from rq.job import Job

from tests.helpers import ingest
from tests.reliability.ha import Receiver
from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import PurgeFailed
from wirefeed.feeds.render import cdn
from wirefeed.feeds.store import keys
from wirefeed.workers.purge import send_purge

DUMP = (
    b"Parliament passes the budget after a long night of votes\n-\n"
    b"Striker scores twice as the league leaders win again\n"
)


def tags(resp: requests.Response) -> tuple[set[str], set[str]]:
    return set(resp.headers["Surrogate-Key"].split(" ")), set(resp.headers["Cache-Tag"].split(","))


@pytest.mark.usefixtures("client", "workers")
def test_feeds_and_pages_carry_surrogate_keys(live_server: str) -> None:
    ingest(live_server, DUMP)
    story = requests.get(f"{live_server}/feeds/all.json", timeout=10).json()["items"][0]
    story_id = story["url"].rsplit("/", 1)[1]
    expected = {
        "/feeds/all.atom": {"feeds", "topic-all"},  # the fast path
        "/feeds/all.atom?limit=5": {"feeds", "topic-all"},  # Flask: a variant
        "/feeds/politics+sports.rss": {"feeds", "topic-politics", "topic-sports"},
        "/feeds/politics": {"feeds", "topic-politics"},
        "/": {"pages", "topic-all"},
        "/topics/politics": {"pages", "topic-politics"},
        f"/stories/{story_id}": {"pages", f"story-{story_id}"},
        "/topics": {"pages", "topic-all"},
        "/opml": {"pages"},
    }
    for path, want in expected.items():
        resp = requests.get(live_server + path, timeout=10)
        assert resp.status_code == 200, path
        surrogate, cache_tag = tags(resp)
        assert want <= surrogate, (path, surrogate)
        assert surrogate == cache_tag, path
    # A 304 names the same keys (a CDN revalidating keeps its tags).
    first = requests.get(f"{live_server}/feeds/all.atom", timeout=10)
    again = requests.get(
        f"{live_server}/feeds/all.atom", headers={"If-None-Match": first.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304
    assert tags(again) == tags(first)


def test_headers_spell_keys_for_fastly_and_cloudflare() -> None:
    assert cdn.headers(["feeds", "topic-all", "feeds"]) == [
        ("Surrogate-Key", "feeds topic-all"),
        ("Cache-Tag", "feeds,topic-all"),
    ]


def test_a_purge_is_queued_only_with_a_purge_url(client: redis.Redis, settings: Settings) -> None:
    queue = Queue(keys.WEBSUB_QUEUE, connection=client)
    before = queue.count
    assert cdn.request_purge(client, settings, ["topic-all"]) == []
    assert queue.count == before
    many = [f"story-{i:04d}" for i in range(600)]
    with_url = settings.with_(purge_url="http://127.0.0.1:9/purge")
    ids = cdn.request_purge(client, with_url, [*many, "topic-all"])
    assert len(ids) == 3  # 256 keys a request
    # (a websub worker of the session may be running them already: read the job records)
    jobs = [Job.fetch(i, connection=client) for i in ids]
    assert [j.func_name for j in jobs] == [keys.PURGE_JOB] * 3
    assert sorted(k for j in jobs for k in j.args[0]) == sorted([*many, "topic-all"])
    assert all(j.retry_intervals == list(defaults.PURGE_RETRY_INTERVALS) for j in jobs)


def test_the_purge_job_posts_the_keys_and_raises_on_failure(settings: Settings) -> None:
    receiver = Receiver(statuses=[500])
    server = receiver.serve()
    try:
        target = settings.with_(purge_url=f"{receiver.url}/purge", purge_header="Fastly-Key: secret-1")
        with pytest.raises(PurgeFailed, match="500"):
            send_purge(target, ["topic-all", "story-ab12"])
        assert send_purge(target, ["topic-all", "story-ab12"])["status"] == 204
        posts = receiver.received("/purge")
        assert [json.loads(p.body) for p in posts] == [{"surrogate_keys": ["topic-all", "story-ab12"]}] * 2
        assert posts[0].headers["Fastly-Key"] == "secret-1"
        assert posts[0].headers["Content-Type"] == "application/json"
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(PurgeFailed, match="unreachable"):
        send_purge(settings.with_(purge_url=f"{receiver.url}/gone"), ["feeds"])

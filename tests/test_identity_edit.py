"""The editors' escape hatch over HTTP and on the command line: ``split`` undoes a wrong merge,
``merge`` makes a missed resend a version; feeds, change logs and pages follow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
import requests

from tests.conftest import ROOT, TOKEN
from tests.test_batch_equivalence import FIXED_NOW, no_queues
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.ids import story_id
from wirefeed.workers import clock, context, pipeline

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIRST = "Drone strikes kill 23 in northern border town"
RESEND = "Drone strikes kill 26 in northern border town"
OTHER = "Flooding closes main road into northern border town for a week"


@pytest.fixture()
def merged_story(monkeypatch: pytest.MonkeyPatch, client: redis.Redis, settings: Settings) -> str:
    """A story with a resend folded in (version 2), stored by the real pipeline."""
    no_queues(monkeypatch)
    ctx = context.build(settings, client)
    for hour, title in ((0, FIRST), (1, RESEND), (2, OTHER)):
        monkeypatch.setattr(clock, "now_micros", lambda h=hour: FIXED_NOW + h * 3_600_000_000)
        sub = ingests.submit(client, settings, f"-\n{title}\n".encode(), source="test")
        pipeline.run_express(ctx, sub.ingest_id)
    sid = story_id("WIRE", FIRST)
    story = StoryStore(client).get(sid)
    assert story is not None and story.version == 2 and story.title == RESEND
    return sid


def _log(client: redis.Redis, slug: str = keys.ALL_TOPIC) -> list[str]:
    return [e.decode() for e in client.lrange(keys.topic_log(slug), 0, -1)]


def _feed_titles(base: str) -> list[str]:
    return [i["title"] for i in requests.get(f"{base}/feeds/all.json", timeout=10).json()["items"]]


def test_split_and_merge_over_the_api(live_server: str, client: redis.Redis, merged_story: str) -> None:
    base, sid = live_server, merged_story
    store = StoryStore(client)
    assert requests.post(f"{base}/api/stories/{sid}/split", timeout=10).status_code == 401
    resp = requests.post(f"{base}/api/stories/{sid}/split", headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    new_id = resp.json()["other"]["id"]
    assert new_id == story_id("WIRE", RESEND)  # the resent title's own id
    back, split_off = store.get(sid), store.get(new_id)
    assert back is not None and split_off is not None
    assert (back.title, back.version) == (FIRST, 3)  # versions only grow
    assert (split_off.title, split_off.version) == (RESEND, 1)
    assert split_off.published > back.published  # published as new
    assert _log(client)[-2:] == [f"{sid}:3", f"{new_id}:1"]
    assert {FIRST, RESEND} <= set(_feed_titles(base))
    assert "split off" in requests.get(f"{base}/stories/{sid}", timeout=10).text
    assert "split off from" in requests.get(f"{base}/stories/{new_id}", timeout=10).text

    # Merge it back: the missed resend becomes version 4 and leaves the feeds.
    bad = requests.post(f"{base}/api/stories/{new_id}/merge", headers=AUTH, json={"to": sid}, timeout=10)
    assert bad.status_code == 400
    resp = requests.post(f"{base}/api/stories/{new_id}/merge", headers=AUTH, json={"into": sid}, timeout=10)
    assert resp.status_code == 200, resp.text
    story = store.get(sid)
    assert story is not None and (story.title, story.version) == (RESEND, 4)
    assert store.get(new_id) is None
    assert client.zscore(keys.topic_index(keys.ALL_TOPIC), new_id) is None
    assert _log(client)[-1] == f"{sid}:4"
    titles = _feed_titles(base)
    assert RESEND in titles and FIRST not in titles
    page = requests.get(f"{base}/stories/{new_id}", timeout=10, allow_redirects=False)
    assert page.status_code == 301 and page.headers["Location"].endswith(f"/stories/{sid}")
    assert "merged in as version 4" in requests.get(f"{base}/stories/{sid}", timeout=10).text


def test_edits_that_cannot_be_done_are_refused(
    live_server: str, client: redis.Redis, merged_story: str
) -> None:
    base, sid = live_server, merged_story
    other = story_id("WIRE", OTHER)

    def post(path: str, **kw: object) -> requests.Response:
        return requests.post(f"{base}/api/stories/{path}", headers=AUTH, timeout=10, **kw)  # type: ignore[arg-type]

    assert post(f"{other}/split").status_code == 409  # one version: nothing merged in
    assert post("0123456789abcdef/split").status_code == 404
    assert post(f"{sid}/merge", json={"into": sid}).status_code == 409
    assert post(f"{sid}/merge", json={"into": "0123456789abcdef"}).status_code == 404
    assert post(f"{sid}/merge", data=b"not json").status_code == 400
    assert StoryStore(client).get(sid).version == 2  # type: ignore[union-attr]


def test_split_and_merge_on_the_command_line(
    client: redis.Redis, settings: Settings, merged_story: str
) -> None:
    env = {**os.environ, "REDIS_URL": settings.redis_url or ""}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "wirefeed", *args]
        return subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    done = cli("split", merged_story)
    assert done.returncode == 0, done.stderr
    new_id = story_id("WIRE", RESEND)
    assert new_id in done.stdout
    merged = cli("merge", merged_story, new_id, "--json")
    assert merged.returncode == 0, merged.stderr
    missing = cli("merge", merged_story, "0123456789abcdef")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "no story" in missing.stderr

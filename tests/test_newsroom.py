"""The newsroom lifecycle over HTTP and the CLI, against real Redis, real workers and the real
app: withdraw (tombstones in every format, 410 page, archives, since pages, WebSub push, a
withdrawn id never comes back), correct, and the refusals of what is not a wire dump."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import redis
import requests
from lxml import etree

from tests.conftest import ROOT, SAMPLE
from tests.helpers import AUTH, distinct_headlines, ingest, post_dump, wait_done
from tests.ninjs_schema import assert_valid
from tests.test_websub import Subscriber, signed_by, subscribe, subscriber  # noqa: F401 (fixture)
from wirefeed.config.settings import Settings
from wirefeed.feeds.render.tombstones import TOMBSTONE_NS
from wirefeed.feeds.store import keys, near_index

pytestmark = pytest.mark.usefixtures("client", "workers")

ARTICLE = "UN members to sign cybercrime treaty opposed by rights groups"
TOPIC = "cybercrime"
ATOM = "http://www.w3.org/2005/Atom"
REASON = "Legal: the court order of 30 November"


def _json(base: str, path: str) -> dict[str, Any]:
    resp = requests.get(base + path, timeout=10)
    assert resp.status_code == 200, (path, resp.status_code, resp.text[:200])
    return resp.json()


def _find(base: str, title: str) -> tuple[str, str]:
    """(story id, guid) of the story with ``title`` in the ``all`` feed."""
    [item] = [i for i in _json(base, "/feeds/all.json?limit=200")["items"] if i["title"] == title]
    return item["url"].rsplit("/", 1)[1], item["id"]


def _withdraw(
    base: str, sid: str, body: dict[str, Any] | None = None, auth: bool = True
) -> requests.Response:
    return requests.post(
        f"{base}/api/stories/{sid}/withdraw", json=body or {}, headers=AUTH if auth else {}, timeout=30
    )


def _cli(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": settings.redis_url or "", "WIREFEED_BASE_URL": settings.base_url}
    return subprocess.run(
        [sys.executable, "-m", "wirefeed", *argv],
        env=env,
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _fill(base: str, n: int = 60) -> None:
    """The sample plus ``n`` more headlines: the ``all`` log has a full archive page."""
    ingest(base, SAMPLE.read_bytes())
    ingest(base, "\n-\n".join(distinct_headlines(n, seed=7)).encode())


def test_withdraw_over_http_recalls_the_story_everywhere(live_server: str, client: redis.Redis) -> None:
    _fill(live_server)
    sid, guid = _find(live_server, ARTICLE)
    archive = f"{live_server}/feeds/all/archive/1.atom"
    before = requests.get(archive, timeout=10)
    assert before.status_code == 200 and b"Budapest Convention" in before.content
    assert "immutable" not in before.headers["Cache-Control"]
    assert "max-age=" in before.headers["Cache-Control"]

    assert _withdraw(live_server, sid, {"reason": REASON}, auth=False).status_code == 401
    assert _withdraw(live_server, "0123456789abcdef").status_code == 404
    resp = _withdraw(live_server, sid, {"reason": REASON})
    assert resp.status_code == 200, resp.text
    state = resp.json()
    assert (state["id"], state["guid"], state["status"], state["note"]) == (sid, guid, "withdrawn", REASON)
    assert state["title"] is None
    assert _withdraw(live_server, sid).status_code == 409

    # Gone from every current, combined and filtered feed and from the pages.
    for path in (
        f"/feeds/{TOPIC}.atom",
        "/feeds/all.rss",
        f"/feeds/{TOPIC}+sports.atom",
        "/feeds/all.atom?q=cybercrime",
        f"/topics/{TOPIC}",
        "/",
    ):
        body = requests.get(live_server + path, timeout=10).text
        assert "Budapest Convention" not in body and ARTICLE not in body, path
    for path in (f"/feeds/{TOPIC}+sports.json", "/feeds/all.json?q=treaty"):
        assert guid not in {i["id"] for i in _json(live_server, path)["items"]}, path

    # Its topics' Atom feeds carry an RFC 6721 tombstone; the feed stays valid Atom.
    atom = requests.get(f"{live_server}/feeds/{TOPIC}.atom", timeout=10).content
    root = etree.fromstring(atom)
    assert root.nsmap.get("at") == TOMBSTONE_NS
    [tomb] = root.findall(f"{{{TOMBSTONE_NS}}}deleted-entry")
    assert tomb.get("ref") == guid and tomb.get("when")
    assert REASON in tomb.findtext(f"{{{TOMBSTONE_NS}}}comment")
    assert guid not in {e.findtext(f"{{{ATOM}}}id") for e in root.findall(f"{{{ATOM}}}entry")}
    parsed = feedparser.parse(atom)
    assert parsed.bozo == 0 and parsed.entries and guid not in {e.id for e in parsed.entries}

    # RSS: an item with the same guid, marked withdrawn, without the text; JSON Feed: the extension.
    rss = feedparser.parse(requests.get(f"{live_server}/feeds/{TOPIC}.rss", timeout=10).content)
    assert rss.bozo == 0
    [item] = [e for e in rss.entries if e.id == guid]
    assert item.title == "[Withdrawn]" and REASON in item.summary
    assert [t.term for t in item.tags] == ["withdrawn"]
    doc = _json(live_server, f"/feeds/{TOPIC}.json")
    [jitem] = [i for i in doc["items"] if i["id"] == guid]
    assert jitem["_wirefeed"]["status"] == "withdrawn" and jitem["_wirefeed"]["reason"] == REASON
    assert "content_html" not in jitem and "Budapest" not in json.dumps(doc)
    # ... also in since catch-up pages, so pollers learn to delete it.
    catchup = _json(live_server, f"/feeds/{TOPIC}.json?since=0")
    assert [i["_wirefeed"]["status"] for i in catchup["items"] if i["id"] == guid] == ["withdrawn"]
    # ninjs: the story answers pubStatus canceled (no content), in its own URL and its feeds.
    canceled = _json(live_server, f"/stories/{sid}.ninjs")
    assert_valid(canceled)
    assert (canceled["uri"], canceled["pubStatus"]) == (guid, "canceled")
    assert "bodies" not in canceled and "Budapest" not in json.dumps(canceled)
    for path in (f"/feeds/{TOPIC}.ninjs", f"/feeds/{TOPIC}.ninjs?since=0"):
        items = [i for i in _json(live_server, path)["items"] if i["uri"] == guid]
        assert [i["pubStatus"] for i in items] == ["canceled"], path
        assert_valid(items[0])

    _check_page_archive_and_resend(live_server, client, sid, guid, before)


def _check_page_archive_and_resend(
    live_server: str, client: redis.Redis, sid: str, guid: str, before: requests.Response
) -> None:
    archive = f"{live_server}/feeds/all/archive/1.atom"
    # The story page answers 410 Gone, saying so and when.
    page = requests.get(f"{live_server}/stories/{sid}", timeout=10)
    assert page.status_code == 410 and "withdrawn" in page.text and REASON in page.text
    assert "Budapest" not in page.text
    assert requests.get(f"{live_server}/stories/0123456789abcdef", timeout=10).status_code == 404

    # The archive page that held it is rendered again, with the tombstone instead of the text.
    after = requests.get(archive, timeout=10, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and b"Budapest Convention" not in after.content
    assert etree.fromstring(after.content).find(f"{{{TOMBSTONE_NS}}}deleted-entry").get("ref") == guid
    assert feedparser.parse(after.content).bozo == 0

    # Ingesting it again brings nothing back, and says so.
    status = ingest(live_server, SAMPLE.read_bytes())
    assert status["withdrawn"] == 1 and status["new"] == 0
    assert requests.get(f"{live_server}/stories/{sid}", timeout=10).status_code == 410
    assert guid not in {e.id for e in feedparser.parse(f"{live_server}/feeds/{TOPIC}.atom").entries}
    assert client.zscore(keys.topic_index(keys.ALL_TOPIC), sid) is None


def test_withdraw_pushes_the_updated_feed_to_websub_subscribers(
    live_server: str,
    client: redis.Redis,
    subscriber: Subscriber,  # noqa: F811 (the fixture of tests/test_websub.py)
) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    sid, guid = _find(live_server, ARTICLE)
    topic = f"{live_server}/feeds/{TOPIC}.atom"
    _, st = subscribe(live_server, client, topic, f"{subscriber.url}/hook", secret="s3cret-value")
    assert st["intent"]["state"] == "verified", st
    assert _withdraw(live_server, sid, {"reason": REASON}).status_code == 200
    got = subscriber.next_delivery()
    assert signed_by("s3cret-value", got.body, got.headers.get("X-Hub-Signature"))
    root = etree.fromstring(got.body)
    assert root.find(f"{{{TOMBSTONE_NS}}}deleted-entry").get("ref") == guid
    assert b"Budapest Convention" not in got.body


def test_withdraw_from_the_cli(live_server: str, settings: Settings) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    sid, guid = _find(live_server, ARTICLE)
    done = _cli(settings, "withdraw", sid, "--reason", REASON, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "withdrawn"
    again = _cli(settings, "withdraw", sid)
    assert again.returncode == 1 and "withdrawn already" in again.stderr
    unknown = _cli(settings, "withdraw", "0123456789abcdef")
    assert unknown.returncode == 2 and "no story" in unknown.stderr
    assert requests.get(f"{live_server}/stories/{sid}", timeout=10).status_code == 410
    items = _json(live_server, "/feeds/all.json")["items"]
    assert [i["_wirefeed"]["status"] for i in items if i["id"] == guid] == ["withdrawn"]


def test_correct_makes_a_new_version_marked_as_a_correction(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    sid, guid = _find(live_server, ARTICLE)
    old = next(i for i in _json(live_server, f"/feeds/{TOPIC}.json")["items"] if i["id"] == guid)
    url = f"{live_server}/api/stories/{sid}/correct"
    body = {
        "title": "UN members sign cybercrime treaty opposed by rights groups",
        "text": "Forty states signed the convention on Tuesday.\n\nRights groups objected.",
        "note": "The treaty was signed, not yet to be signed.",
    }
    assert requests.post(url, json=body, timeout=30).status_code == 401
    assert requests.post(url, json={}, headers=AUTH, timeout=30).status_code == 400
    assert (
        requests.post(url, data=b"[1]", headers={**AUTH, "Content-Type": "application/json"}).status_code
        == 400
    )
    resp = requests.post(url, json=body, headers=AUTH, timeout=30)
    assert resp.status_code == 200, resp.text
    state = resp.json()
    assert (state["id"], state["status"], state["version"], state["title"]) == (
        sid,
        "corrected",
        2,
        body["title"],
    )
    assert requests.post(url, json=body, headers=AUTH, timeout=30).status_code == 409  # same text again
    assert (
        requests.post(
            f"{live_server}/api/stories/0123456789abcdef/correct", json=body, headers=AUTH, timeout=30
        ).status_code
        == 404
    )

    new = next(i for i in _json(live_server, f"/feeds/{TOPIC}.json")["items"] if i["id"] == guid)
    assert new["title"] == body["title"] and "Forty states" in new["content_html"]
    assert new["_wirefeed"]["status"] == "corrected" and new["_wirefeed"]["note"] == body["note"]
    assert new["date_modified"] > old["date_modified"] and new["date_published"] == old["date_published"]
    assert feedparser.parse(requests.get(f"{live_server}/feeds/{TOPIC}.atom", timeout=10).content).bozo == 0
    page = requests.get(f"{live_server}/stories/{sid}", timeout=10).text
    assert "Corrected" in page and body["note"] in page and ARTICLE in page  # the old text is a revision
    # A withdrawn story cannot be corrected.
    assert _withdraw(live_server, sid).status_code == 200
    assert requests.post(url, json={"title": "x y z"}, headers=AUTH, timeout=30).status_code == 409


def test_ingest_refuses_form_uploads_and_other_non_text_bodies(live_server: str) -> None:
    dump = SAMPLE.read_bytes()
    form = requests.post(
        f"{live_server}/api/ingest", files={"file": ("dump.txt", dump)}, headers=AUTH, timeout=30
    )
    assert form.status_code == 415
    msg = form.json()["message"]
    assert "multipart" in msg and "curl --data-binary @dump.txt" in msg and "\n" not in msg
    assert post_dump(live_server, dump, {"Content-Type": "application/json"}).status_code == 415
    assert post_dump(live_server, dump, {"Content-Type": "image/png"}).status_code == 415
    ok = post_dump(live_server, dump, {"Content-Type": "text/plain; charset=utf-8"})
    assert wait_done(live_server, ok)["new"] == 48
    # What curl --data-binary sends by default is the raw body too.
    assert (
        post_dump(live_server, dump, {"Content-Type": "application/x-www-form-urlencoded"}).status_code == 202
    )


def test_a_dump_that_looks_like_markdown_html_or_code_is_refused_unless_forced(
    live_server: str, settings: Settings, client: redis.Redis
) -> None:
    readme = (ROOT / "README.md").read_bytes()
    for body in (
        readme,
        b"<!doctype html>\n<html><body><p>Hi</p></body></html>\n",
        (ROOT / "bench" / "gen.py").read_bytes(),
    ):
        resp = post_dump(live_server, body)
        assert resp.status_code == 400 and resp.json()["error"] == "not-a-dump", resp.text
        assert "force" in resp.json()["message"] and "\n" not in resp.json()["message"]
    # nothing of them was stored (compared by title: an earlier test's ingest may still land)
    titles = {i["title"] for i in _json(live_server, "/feeds/all.json?limit=200")["items"]}
    assert not any(t.startswith(("#", "<", '"""', "import ")) for t in titles)
    forced = requests.post(f"{live_server}/api/ingest?force=1", data=readme, headers=AUTH, timeout=30)
    assert forced.status_code == 202

    path = ROOT / "README.md"
    cli = _cli(settings, "ingest", str(path))
    assert cli.returncode == 2
    [line] = cli.stderr.strip().splitlines()
    assert "not-a-dump" in line and "--force" in line
    assert _cli(settings, "ingest", "--force", str(path)).returncode == 0


def test_the_sample_and_generated_dumps_are_not_refused() -> None:
    from bench.gen import generate
    from wirefeed.feeds.stories.sniff import refusal

    assert refusal(SAMPLE.read_bytes()) is None
    for seed in range(1, 21):
        assert refusal(generate(2000, seed)) is None, seed
    assert refusal(b"# heading\n\ntext\n") is not None
    assert refusal(b"import os\nprint(1)\n") is not None
    assert refusal(b'{"a": 1}\n') is not None


def test_readers_following_the_topic_lose_the_story_after_their_next_update(
    live_server: str, tmp_path: Path
) -> None:
    """``reader`` (Atom and RSS) and newsboat (RSS): after a withdrawal and an update, the story's
    text is gone from what the reader shows (a reader keeps an entry that leaves an Atom feed;
    RSS replaces it by guid with the ``[Withdrawn]`` item)."""
    reader_lib = pytest.importorskip("reader")
    ingest(live_server, SAMPLE.read_bytes())
    sid, guid = _find(live_server, ARTICLE)
    rss = f"{live_server}/feeds/{TOPIC}.rss"
    rd = reader_lib.make_reader(str(tmp_path / "reader.sqlite"))
    rd.add_feed(rss)
    rd.update_feeds(scheduled=False)
    [seen] = [e for e in rd.get_entries() if e.id == guid]
    assert seen.title == ARTICLE
    assert _withdraw(live_server, sid, {"reason": REASON}).status_code == 200
    rd.update_feeds(scheduled=False)
    [now] = [e for e in rd.get_entries() if e.id == guid]
    assert now.title == "[Withdrawn]"
    assert "Budapest" not in json.dumps([c.value for c in now.content]) + (now.summary or "")
    rd.close()


def test_newsboat_following_the_topic_shows_the_withdrawal_after_its_next_reload(
    live_server: str, tmp_path: Path
) -> None:
    """newsboat keeps every item it has seen (there is no delete in RSS or in its cache), but
    it replaces an item's title and text when the feed sends the same guid again: the RSS
    tombstone takes the story's place."""
    from tests.test_newsboat import _reload

    if shutil.which("newsboat") is None:
        pytest.skip("newsboat is not installed: apt-get install -y newsboat (.ci/run does this)")
    ingest(live_server, SAMPLE.read_bytes())
    sid, guid = _find(live_server, ARTICLE)
    url = f"{live_server}/feeds/{TOPIC}.rss"
    [before] = [i for i in _reload(tmp_path, url) if i[0] == guid]
    assert before[1] == ARTICLE and "Budapest" in before[3]
    assert _withdraw(live_server, sid, {"reason": REASON}).status_code == 200
    [after] = [i for i in _reload(tmp_path, url) if i[0] == guid]
    assert after[1] == "[Withdrawn]" and "Budapest" not in after[3] and REASON in after[3]


def test_retention_expires_old_stories_logs_and_near_duplicates(
    live_server: str, client: redis.Redis, settings: Settings
) -> None:
    heads = distinct_headlines(110, seed=11)
    ingest(live_server, "\n-\n".join(heads).encode())
    assert client.exists(keys.RETENTION_QUEUED)  # the finished ingest queued a retention run
    assert _json(live_server, "/feeds/all/archive/1.json")["items"]

    killed, _ = _find(live_server, heads[5])
    assert _withdraw(live_server, killed, {"reason": REASON}).status_code == 200
    kept = _cli(settings, "expire")  # nothing is 30 days old yet
    assert kept.returncode == 0 and kept.stdout.startswith("expired 0 stories"), kept.stdout
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    done = _cli(settings, "expire", "--as-of", later)
    assert done.returncode == 0 and "expired 109 stories" in done.stdout, done.stdout + done.stderr

    assert client.zcard(keys.topic_index(keys.ALL_TOPIC)) == 0
    assert client.zcard(keys.topic_gone(keys.ALL_TOPIC)) == 0  # the tombstone period is over too
    assert client.keys("wf:story:*") == [keys.story(killed).encode()]  # only the withdrawn record
    assert not client.keys("wf:revs:*")
    bands = [client.hvals(k) for k in client.scan_iter("wf:near:*")]
    near_left = {i for values in bands for i in near_index.stories_since(values, 0)}
    near_left |= {v.decode() for v in client.hvals(keys.ALIAS)}
    assert near_left <= {killed}  # only the withdrawn story can still be matched
    assert _json(live_server, "/feeds/all.json")["items"] == []
    assert "report 0" not in requests.get(f"{live_server}/", timeout=10).text
    # The first archive page is past the horizon: 410 with a link to the current feed.
    gone = requests.get(f"{live_server}/feeds/all/archive/1.atom", timeout=10)
    assert gone.status_code == 410 and 'rel="current"' in gone.headers["Link"]
    assert f"{live_server}/feeds/all.atom" in gone.headers["Link"]
    old = requests.get(f"{live_server}/feeds/all.json?since=0", timeout=10)
    assert old.status_code == 410 and "/feeds/all.json" in old.headers["Link"]
    assert requests.get(f"{live_server}/feeds/all.json?since=50", timeout=10).status_code == 200
    assert requests.get(f"{live_server}/feeds/all/archive/2.atom", timeout=10).status_code == 200

    # An expired story may come back (it is new again); a near variant is not taken for it.
    variant = heads[3].replace("report 3", "report three")
    status = ingest(live_server, f"{heads[3]}\n-\n{variant}\n".encode())
    assert status["new"] + status["updated"] >= 1 and status["withdrawn"] == 0
    assert status["updated"] == 0
    # A withdrawn story never comes back, even after retention.
    assert ingest(live_server, heads[5].encode())["withdrawn"] == 1

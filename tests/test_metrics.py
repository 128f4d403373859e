"""``/metrics``, ``/readyz`` and the 404 page against the real app over HTTP, with real workers.

``/metrics`` is parsed with prometheus-client's own parser; the counts it shows are compared
with what the ingest API reported and with the requests this test made.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import html
from prometheus_client.parser import text_string_to_metric_families

from tests import clients
from tests.helpers import AUTH, distinct_headlines, ingest, post_dump, wait_done
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue.workers import QUEUES
from wirefeed.redis_server import EmbeddedRedis
from wirefeed.services.app import create_app

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"
BAD_ITEM = (
    b"- Orphan subhead -\nA paragraph with no title, which is long enough to be body text for sure.\n"
    b"J.Doe--XYZ\n-\n"
)

pytestmark = pytest.mark.usefixtures("client", "workers")

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(base: str) -> Samples:
    """Every sample of ``/metrics``: name -> {sorted labels: value}."""
    resp = requests.get(f"{base}/metrics", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def value(m: Samples, name: str, **labels: str) -> float:
    return m.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_count_an_ingest_by_outcome_and_its_time_to_served(live_server: str) -> None:
    first = ingest(live_server, SAMPLE.read_bytes())
    more = SAMPLE.read_bytes() + b"\n-\n" + BAD_ITEM + b"A new headline about metrics\n"
    resp = post_dump(live_server, more)
    assert [r["reason"] for r in resp.json()["rejected"]] == ["no-title"]
    second = wait_done(live_server, resp)
    m = scrape(live_server)
    stories = {
        o: value(m, "wirefeed_stories_ingested_total", outcome=o)
        for o in ("new", "updated", "unchanged", "failed", "rejected", "withdrawn")
    }
    assert stories == {
        "new": first["new"] + second["new"],
        "updated": first["updated"] + second["updated"],
        "unchanged": first["unchanged"] + second["unchanged"],
        "failed": 0,
        "rejected": 1,
        "withdrawn": 0,
    }
    assert stories["new"] == 49 and stories["unchanged"] == 48  # the sample's 48, then one more
    # One observation per ingest, in cumulative buckets that end in +Inf.
    served = m["wirefeed_ingest_to_served_seconds_bucket"]
    assert value(m, "wirefeed_ingest_to_served_seconds_count") == 2
    assert served[(("le", "+Inf"),)] == 2
    counts = [v for _, v in sorted(served.items(), key=lambda kv: float(kv[0][0][1]))]
    assert counts == sorted(counts)
    assert value(m, "wirefeed_ingest_to_served_seconds_sum") > 0
    # The categorizer ran on the 49 new stories' batches (the unchanged ones need no categorizer).
    assert value(m, "wirefeed_categorize_batch_seconds_count") >= 1
    assert value(m, "wirefeed_redis_up") == 1
    for queue in QUEUES:
        assert value(m, "wirefeed_queue_jobs", queue=queue) == 0
        assert value(m, "wirefeed_failed_jobs", queue=queue) == 0
        assert value(m, "wirefeed_queue_oldest_job_age_seconds", queue=queue) == 0
    assert {dict(k)["queue"] for k in m["wirefeed_live_workers"]} == set(QUEUES)
    for result in ("delivered", "gone", "failed", "refused", "expired"):
        assert (("result", result),) in m["wirefeed_websub_deliveries_total"]


def test_metrics_count_feed_responses_by_status_and_format(live_server: str) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    before = scrape(live_server)
    url = f"{live_server}/feeds/cybercrime.atom"
    first = requests.get(url, timeout=10)  # the fast path or Flask: counted either way
    assert first.status_code == 200
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    assert requests.get(f"{live_server}/feeds/cybercrime.rss?limit=5", timeout=10).status_code == 200  # Flask
    assert requests.get(f"{live_server}/feeds/nosuch.json", timeout=10).status_code == 404
    assert requests.get(f"{live_server}/feeds/all.json?bogus=1", timeout=10).status_code == 400
    assert requests.get(f"{live_server}/feeds/all", timeout=10).status_code == 200
    after = scrape(live_server)

    def delta(status: str, fmt: str) -> float:
        name, labels = "wirefeed_feed_responses_total", {"status": status, "format": fmt}
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("200", "atom") == 1
    assert delta("304", "atom") == 1
    assert delta("200", "rss") == 1
    assert delta("4xx", "json") == 2
    assert delta("200", "negotiated") == 1
    assert delta("5xx", "json") == 0


def test_readyz_is_ready_with_a_live_worker_per_queue(live_server: str) -> None:
    want = {"ingest": 1, "express": 1, "categorize": 2, "websub": 1}  # the workers fixture's
    deadline = time.monotonic() + 30
    while True:  # the client fixture wiped the heartbeats: each comes back within a second
        resp = requests.get(f"{live_server}/readyz", timeout=10)
        if resp.json().get("workers") == want or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["ready"] is True and body["reasons"] == []
    assert body["workers"] == want
    assert body["model"] == ["loaded"]
    assert requests.get(f"{live_server}/healthz", timeout=10).status_code == 200


@pytest.fixture()
def lonely_app(tmp_path: Path, settings: Settings) -> Iterator[str]:
    """The app on a Redis of its own that no worker serves."""
    import threading

    from werkzeug.serving import make_server

    with EmbeddedRedis(tmp_path / "redis", persist=False) as server:
        app = create_app(settings.with_(redis_url=server.url))
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{http.server_port}"
        http.shutdown()


def test_readyz_says_why_it_is_not_ready(lonely_app: str) -> None:
    resp = requests.get(f"{lonely_app}/readyz", timeout=10)
    assert resp.status_code == 503
    body = resp.json()
    assert body["ready"] is False
    assert body["reasons"] == [f"no live worker serves the {q} queue" for q in QUEUES]
    assert requests.get(f"{lonely_app}/healthz", timeout=10).status_code == 200  # alive all the same


def test_a_404_page_has_the_site_header_and_a_link_home(live_server: str, settings: Settings) -> None:
    for path in ("/no/such/page", "/stories/doesnotexist", "/topics/nosuch"):
        resp = requests.get(f"{live_server}{path}", timeout=10)
        assert resp.status_code == 404
        assert resp.headers["Content-Type"].startswith("text/html")
        doc = html.fromstring(resp.content)
        assert doc.xpath("string(//header//a[@class='brand'])") == settings.feed_title
        assert "/" in doc.xpath("//main//a/@href")
        assert "Content-Security-Policy" in resp.headers
    api = requests.get(f"{live_server}/api/nosuch", headers=AUTH, timeout=10)
    assert api.status_code == 404 and api.json() == {"error": "not found"}


def test_the_progress_hook_of_a_big_ingest_sees_every_batch(live_server: str, settings: Settings) -> None:
    """What ``wirefeed ingest --wait`` draws its progress bar from."""
    from wirefeed.feeds.queue import ingests
    from wirefeed.feeds.store.connection import connect

    client = connect(settings.redis_url or "")
    body = "\n-\n".join(distinct_headlines(400, seed=13)).encode()
    sub = ingests.submit(client, settings, body, source="big.txt")
    seen: list[ingests.Progress] = []
    final = ingests.wait(client, sub.ingest_id, timeout=120, on_progress=seen.append, every=0)
    assert final.done and final.new == 400
    assert seen[-1] == final
    done = [p.batches_done for p in seen]
    assert done == sorted(done)


def test_the_shipped_dashboard_and_scrape_config_name_real_metrics(live_server: str, tmp_path: Path) -> None:
    ingest(live_server, SAMPLE.read_bytes())
    shown = set(scrape(live_server))
    deploy = Path(__file__).resolve().parents[1] / "deploy"
    dashboard = json.loads((deploy / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    named = {name for e in exprs for name in re.findall(r"\bwirefeed_[a-z_]+", e)}
    assert len(named) >= 9
    assert named - shown == set()
    compose = (deploy.parent / "docker-compose.yml").read_text()
    for path in re.findall(r"\./(deploy/[\w./-]+):", compose):
        assert (deploy.parent / path).is_file(), path
    promtool = clients.binary("promtool")
    check = subprocess.run(
        [promtool, "check", "config", str(deploy / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr

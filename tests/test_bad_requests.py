"""Bad input to every GET route never gets a 5xx, and no request makes unbounded work.

The property test drives the real app (Flask test client over the real app, real Redis holding
the ingested sample) through every GET route of its URL map (so routes added later are covered
too) with arbitrary strings, Unicode digits, huge numbers and repeated parameters in every path
variable and every query parameter. The known cases also go over real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import redis
import requests
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.conftest import SAMPLE, clean
from tests.helpers import AUTH, ingest
from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys, select
from wirefeed.feeds.store.connection import connect
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.services.app import create_app
from wirefeed.services.feed_request import ALLOWED_PARAMS

UNICODE_DIGITS = ["²", "١", "٣", "۴", "੫", "೬", "𝟕", "Ⅻ", "½", "①", "߀", "9\u0660"]
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=10**15, max_value=10**80).map(str),
    st.just("9" * 5000),  # over Python's int() digit limit
    st.sampled_from(["0", "1", "50", "200", "201", "-1", "+5", " 5", "5 ", "1e3", "0x10", "1_0"]),
)
VALUES = st.one_of(
    st.text(max_size=40),
    NUMBERS,
    st.sampled_from(UNICODE_DIGITS),
    st.lists(st.sampled_from(UNICODE_DIGITS), min_size=1, max_size=4).map("".join),
    st.sampled_from(["all", "cybercrime", "sports", "atom", "rss", "json", "article", "headline", "x+y"]),
)
PARAM_NAMES = st.one_of(st.sampled_from(sorted(ALLOWED_PARAMS)), st.text(max_size=10))
VALID = {
    "spec": ["all", "cybercrime", "all+sports", "sports+cybercrime+all"],
    "slug": ["all", "cybercrime", "sports"],
    "fmt": ["json", "atom", "rss"],
    "page": ["1", "2"],
}
"""Path variables of the known routes: valid values half the time, so the query gets parsed."""


@pytest.fixture(scope="module")
def app(settings: Settings, live_server: str, redis_url: str, workers: object) -> Iterator[Flask]:
    """The real app on the sample's stories; rate limits high enough not to answer 429 to all."""
    client = connect(redis_url)
    clean(client)
    ingest(live_server, SAMPLE.read_bytes())
    yield create_app(
        settings.with_(auth_fail_rate=10**9, ingest_rate=10**9, websub_rate=10**9, websub_global_rate=10**9),
        client,
    )
    client.close()


def _get_routes(app: Flask) -> list[tuple[str, list[str]]]:
    """Every GET rule (as ``/feeds/<spec>.<fmt>``) with its variable names."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "static":
            out.append((rule.rule, list(rule.arguments)))
    return sorted(out)


@st.composite
def requests_for(draw: st.DrawFn, routes: list[tuple[str, list[str]]]) -> tuple[str, list[tuple[str, str]]]:
    rule, names = draw(st.sampled_from(routes))
    path = rule
    for name in names:
        value = draw(st.sampled_from(VALID[name]) | VALUES if name in VALID else VALUES)
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", quote(value, safe="") or "x", path)
    query = draw(st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=6))
    if query and draw(st.booleans()):
        query.append(query[0])  # a repeated parameter
    return path, query


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Accept-Encoding": st.sampled_from(
            ["gzip;q=0", "gzip;q=abc", "*;q=0.5", "x-gzip", ",,;;", "gzip;q=9e999"]
        ),
        "If-None-Match": st.one_of(HEADER_TEXT, st.just(",".join(['"x"'] * 5000))),
        "If-Modified-Since": HEADER_TEXT,
        "Accept": st.sampled_from(["application/json;q=²", "*/*;q=99999999999999999999", "text/xml;;"]),
    },
)


def test_no_get_route_answers_5xx_to_any_value(app: Flask) -> None:
    routes = _get_routes(app)
    assert any(r.startswith("/feeds/") for r, _ in routes) and len(routes) >= 8
    web = app.test_client()

    @hsettings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(req=requests_for(routes), headers=HEADERS)
    def check(req: tuple[str, list[tuple[str, str]]], headers: dict[str, str]) -> None:
        path, query = req
        resp = web.get(path, query_string=query, headers={**AUTH, **headers})
        assert resp.status_code < 500, (path, query, headers, resp.status_code, resp.get_data()[:300])
        if resp.status_code == 400:
            assert resp.get_data().strip().count(b"\n") == 0 or resp.is_json, resp.get_data()

    check()


KNOWN = [
    ("/feeds/all.atom?limit=²", "limit must be a whole number"),
    ("/feeds/all.atom?limit=١", "limit must be a whole number"),
    ("/feeds/all.atom?limit=" + "9" * 2000, "limit must be a whole number"),
    ("/feeds/all.json?since=²", "since must be a cursor"),
    ("/feeds/all.json?since=99999999999999999999999", "since must be a cursor"),
    ("/feeds/all.json?since=" + "9" * 2000, "since must be a cursor"),
    ("/feeds/all.atom?q=" + "x" * (defaults.FEED_MAX_QUERY_CHARS + 1), "q takes at most"),
]


@pytest.mark.parametrize(("path", "message"), KNOWN)
def test_known_bad_values_are_400_with_one_line_over_http(
    live_server: str, client: redis.Redis, path: str, message: str
) -> None:
    resp = requests.get(live_server + path, timeout=10)
    assert resp.status_code == 400, resp.text[:200]
    assert message in resp.text
    assert resp.text.count("\n") == 1


def test_a_since_cursor_of_fifteen_digits_is_an_empty_page(live_server: str, client: redis.Redis) -> None:
    resp = requests.get(f"{live_server}/feeds/all.json?since={'9' * 15}", timeout=10)
    assert resp.status_code == 200
    assert resp.json()["items"] == []


def test_a_long_query_string_is_414(live_server: str, client: redis.Redis) -> None:
    resp = requests.get(f"{live_server}/feeds/all.atom?q={'a' * defaults.MAX_QUERY_BYTES}", timeout=10)
    assert resp.status_code == 414
    assert "query string over" in resp.text


def test_a_combined_feed_names_a_bounded_number_of_topics(live_server: str, client: redis.Redis) -> None:
    topics = requests.get(f"{live_server}/topics", timeout=10).json()["topics"]
    slugs = [t["slug"] for t in topics]
    assert len(slugs) > defaults.FEED_MAX_TOPICS
    ok = requests.get(f"{live_server}/feeds/{'+'.join(slugs[: defaults.FEED_MAX_TOPICS])}.atom", timeout=10)
    assert ok.status_code == 200
    over = requests.get(
        f"{live_server}/feeds/{'+'.join(slugs[: defaults.FEED_MAX_TOPICS + 1])}.atom", timeout=10
    )
    assert over.status_code == 400
    assert f"at most {defaults.FEED_MAX_TOPICS} topics" in over.text


def test_if_none_match_compares_a_bounded_number_of_tags(live_server: str, client: redis.Redis) -> None:
    etag = requests.get(f"{live_server}/feeds/all.atom", timeout=10).headers["ETag"]
    first = ", ".join([etag] + ['"other"'] * 5000)
    assert (
        requests.get(
            f"{live_server}/feeds/all.atom", headers={"If-None-Match": first}, timeout=10
        ).status_code
        == 304
    )
    within = ", ".join(['"other"'] * (defaults.MAX_ETAGS - 1) + [etag])
    assert (
        requests.get(
            f"{live_server}/feeds/all.atom", headers={"If-None-Match": within}, timeout=10
        ).status_code
        == 304
    )
    beyond = ", ".join(['"other"'] * 5000 + [etag])
    resp = requests.get(f"{live_server}/feeds/all.atom", headers={"If-None-Match": beyond}, timeout=10)
    assert resp.status_code == 200  # the whole feed: correct, and no work per listed tag


class CountingStore(StoryStore):
    """A real store that counts the stories a selection loads."""

    loaded = 0

    def stories_by_id(self, ids):  # type: ignore[no-untyped-def]
        CountingStore.loaded += len(ids)
        return super().stories_by_id(ids)


def test_a_filtered_combined_feed_scans_a_bounded_number_of_entries_in_all(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(select, "SELECT_MAX_SCAN", 50)
    monkeypatch.setattr(select, "SELECT_CHUNK", 10)
    slugs = [f"t{i}" for i in range(6)]
    for n, slug in enumerate(slugs):
        client.zadd(keys.topic_index(slug), {f"{n}-{i:04d}": float(i * 10 + n) for i in range(100)})
    CountingStore.loaded = 0
    out = select.select(CountingStore(client), slugs, select.Filters(words=("nowhere",)), 200)
    assert out == []
    assert CountingStore.loaded <= 50  # not 50 per topic


@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 400, "0"])
def test_deep_archive_numbers_are_a_cheap_404(live_server: str, client: redis.Redis, page: str) -> None:
    """An archive page past the log is refused after one LLEN, whatever the number (was bounded
    already; kept as a guard)."""
    resp = requests.get(f"{live_server}/feeds/all/archive/{page}.atom", timeout=10)
    assert resp.status_code == 404
    assert resp.text.count("\n") <= 1 or "<title>404" in resp.text


CALLBACK_HOSTS = st.sampled_from(
    [
        "[64:ff9b::a9fe:a9fe]",
        "[2002:c0a8:101::1]",
        "[::ffff:10.0.0.1]",
        "[::1",
        "[fe80::1%25eth0]",
        "0x7f.1",
        "2130706433",
        "192.0.2.1:99999",
        "hooks.wirefeed-test.invalid",  # never resolves: a queued verification contacts nothing
        "xn--zz.invalid",
        "☃.invalid",
        "%zz.invalid",
        "",
    ]
)


@st.composite
def hub_forms(draw: st.DrawFn, base: str) -> list[tuple[str, str]]:
    mode = draw(st.sampled_from(["subscribe", "unsubscribe"]) | VALUES)
    topic = draw(st.sampled_from([f"{base}/feeds/all.atom", f"{base}/feeds/sports.json"]) | VALUES)
    callback = draw(st.builds(lambda h, p: f"http://{h}/{p}", CALLBACK_HOSTS, st.text(max_size=10)) | VALUES)
    fields = [("hub.mode", mode), ("hub.topic", topic), ("hub.callback", callback)]
    fields += draw(
        st.lists(
            st.tuples(st.sampled_from(["hub.lease_seconds", "hub.secret", "hub.mode", "x"]), VALUES),
            max_size=3,
        )
    )
    return fields


def test_the_hub_answers_no_5xx_to_any_form(app: Flask, settings: Settings) -> None:
    web = app.test_client()

    @hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(fields=hub_forms(settings.base_url))
    def check(fields: list[tuple[str, str]]) -> None:
        resp = web.post("/websub", data=MultiDict(fields), environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert resp.status_code < 500, (fields, resp.status_code, resp.get_data()[:300])
        if resp.status_code >= 400:
            assert resp.get_data(as_text=True).count("\n") == 1, resp.get_data()

    check()

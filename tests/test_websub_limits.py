"""The WebSub hub cannot be turned against third parties or internal hosts: rate limits on
``POST /websub`` (per client and in all), caps on subscriptions (per callback host and in total),
no DNS lookup in the web request, and IPv6 forms that reach IPv4 space refused.

Real app (over HTTP or its test client), real Redis; verifications run in-process with the real
worker code (``run_verify``) against a real subscriber on 127.0.0.1 (``tests.test_websub``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
import redis
import requests

from tests.test_websub import Subscriber, pending_intent, subscriber, wait_for, websub_queue  # noqa: F401
from wirefeed.config.settings import Settings
from wirefeed.errors import CallbackRefused
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub import hub
from wirefeed.feeds.websub.net import Policy, check_callback, embedded_ipv4, precheck_callback
from wirefeed.services.app import create_app
from wirefeed.workers import context, websub

STRICT = Policy.from_settings(False, ())


def form(
    settings: Settings, callback: str, mode: str = "subscribe", topic: str = "all.atom"
) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": f"{settings.base_url}/feeds/{topic}", "hub.callback": callback}


def verifications_queued(client: redis.Redis) -> list:
    return [j for j in websub_queue(client).get_jobs() if j.func_name == keys.WEBSUB_VERIFY_JOB]


# -- IPv6 forms of IPv4 space ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64
        ("2002:c0a8:101::1", "192.168.1.1"),  # 6to4
        ("::10.0.0.1", "10.0.0.1"),  # IPv4-compatible
        ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
        ("::ffff:100.64.0.1", "100.64.0.1"),
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),  # IPv4-translated (SIIT)
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),  # Teredo (client address)
    ],
)
def test_ipv6_forms_of_internal_ipv4_are_refused(address: str, inside: str) -> None:
    addr = ipaddress.IPv6Address(address)
    assert ipaddress.IPv4Address(inside) in embedded_ipv4(addr)
    assert not STRICT.address_allowed(addr)
    with pytest.raises(CallbackRefused, match="not a public address"):
        precheck_callback(f"http://[{address}]/cb", STRICT)  # in the web request, without DNS
    with pytest.raises(CallbackRefused, match="not a public address"):
        check_callback("http://hooks.example/cb", STRICT, lambda host, port: [address])  # in the worker


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",
        "100.127.255.254",
        "64:ff9b:1::a00:1",
        "fec0::1",
        "0x7f.1",
        "2130706433",
        "127.1",
        "sub.localhost",
    ],
)
def test_shared_space_local_nat64_and_odd_ipv4_spellings_are_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(CallbackRefused):
        precheck_callback(f"http://{host}/cb", STRICT)


def test_ipv6_forms_of_public_ipv4_stay_allowed() -> None:
    for address in ("64:ff9b::5db8:d822", "2002:5db8:d822::1", "::ffff:93.184.216.34", "2606:2800:220:1::1"):
        assert STRICT.address_allowed(ipaddress.IPv6Address(address)), address
    # An allow-list entry for the IPv4 network also admits its IPv6 spellings.
    assert Policy.from_settings(False, ["10.0.0.0/8"]).address_allowed(
        ipaddress.IPv6Address("::ffff:10.1.2.3")
    )


# -- no DNS in the web request -------------------------------------------------------------------


@pytest.mark.usefixtures("workers")
def test_the_web_request_does_not_resolve_the_callback(live_server: str, client: redis.Redis) -> None:
    """``.invalid`` never resolves (RFC 6761): the hub takes the request (202) without looking
    the host up (before, it answered 400 "does not resolve" from inside the web request), and
    the websub worker's verification fails on the lookup."""
    topic = f"{live_server}/feeds/all.atom"
    callback = "http://hooks.wirefeed-test.invalid/cb"
    resp = requests.post(
        f"{live_server}/websub",
        data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    st = wait_for(  # generous: the session's workers may still be starting on a loaded machine
        "verification finished",
        lambda: (s := hub.status(client, topic, callback))["intent"]["state"] != "pending" and s,
        timeout=180,
    )
    assert st["intent"]["state"] == "failed"
    assert "does not resolve" in st["intent"]["reason"]
    assert st["subscription"] is None


# -- rate limits ---------------------------------------------------------------------------------


def test_hub_requests_are_rate_limited_per_client_and_in_all(client: redis.Redis, settings: Settings) -> None:
    app = create_app(settings.with_(websub_rate=2, websub_global_rate=3), client)
    web = app.test_client()
    sent = iter(range(100))

    def post(addr: str) -> int:
        callback = f"http://hooks-{next(sent)}.wirefeed-test.invalid/cb"  # never contacted
        return web.post(
            "/websub", data=form(settings, callback), environ_base={"REMOTE_ADDR": addr}
        ).status_code

    assert [post("203.0.113.1") for _ in range(3)] == [202, 202, 429]
    assert post("203.0.113.2") == 202  # another client: its own budget, the third of all
    callback = "http://hooks.wirefeed-test.invalid/cb"
    over = web.post("/websub", data=form(settings, callback), environ_base={"REMOTE_ADDR": "203.0.113.3"})
    assert over.status_code == 429  # every client together is over the hub's limit
    assert "in all" in over.get_data(as_text=True) and int(over.headers["Retry-After"]) >= 1
    # a request recorded (and its verification queued) for the accepted ones only
    assert len(list(client.scan_iter(match=keys.websub_intent("*")))) == 3


# -- caps on subscriptions -------------------------------------------------------------------------


def verify_in_process(settings: Settings, client: redis.Redis, callback: str, topic: str) -> str:
    """A subscribe request verified by the real worker code with these settings, in-process (a
    websub worker of the test session runs with its own settings); return the state."""
    sub_id, req = pending_intent(client, f"{settings.base_url}/feeds/{topic}", callback)
    return websub.run_verify(context.build(settings, client), sub_id, req)["state"]


def test_subscriptions_are_capped_per_callback_host_and_in_total(
    client: redis.Redis,
    settings: Settings,
    subscriber: Subscriber,  # noqa: F811
) -> None:
    capped = settings.with_(websub_max_per_host=2, websub_max_subscriptions=3)
    web = create_app(capped, client).test_client()
    loopback = subscriber.url  # http://127.0.0.1:<port>
    by_name = subscriber.url.replace("127.0.0.1", "localhost")  # the same server, another host name
    assert [verify_in_process(capped, client, f"{loopback}/{i}", "all.atom") for i in range(2)] == [
        "verified",
        "verified",
    ]
    over = web.post("/websub", data=form(capped, f"{loopback}/3"))
    assert over.status_code == 400
    assert "holds 2 subscriptions" in over.get_data(as_text=True)
    assert verify_in_process(capped, client, f"{loopback}/3", "all.atom") == "failed"  # the worker too
    # Renewing a subscription the host already holds is not a new one.
    assert web.post("/websub", data=form(capped, f"{loopback}/0")).status_code == 202
    assert verify_in_process(capped, client, f"{loopback}/0", "all.atom") == "verified"

    allow_local = capped.with_(websub_allow=("127.0.0.1/32", "localhost"))
    web = create_app(allow_local, client).test_client()
    assert verify_in_process(allow_local, client, f"{by_name}/a", "sports.atom") == "verified"
    full = web.post("/websub", data=form(allow_local, f"{by_name}/b", topic="sports.atom"))
    assert full.status_code == 400
    assert "the hub holds 3 subscriptions" in full.get_data(as_text=True)

    # An unsubscribe makes room at once.
    topic = f"{capped.base_url}/feeds/all.atom"
    sub_id, req = pending_intent(client, topic, f"{loopback}/1")
    client.hset(keys.websub_intent(sub_id), "mode", "unsubscribe")
    assert websub.run_verify(context.build(allow_local, client), sub_id, req)["state"] == "verified"
    assert web.post("/websub", data=form(allow_local, f"{loopback}/3")).status_code == 202
    assert verify_in_process(allow_local, client, f"{loopback}/3", "all.atom") == "verified"


def test_the_worker_enforces_the_caps_when_verifications_race(
    client: redis.Redis,
    settings: Settings,
    subscriber: Subscriber,  # noqa: F811
) -> None:
    """Two requests both accepted under the cap: only the first verified one is stored."""
    capped = settings.with_(websub_max_per_host=1)
    topic = f"{settings.base_url}/feeds/all.atom"
    first = pending_intent(client, topic, f"{subscriber.url}/one")
    second = pending_intent(client, topic, f"{subscriber.url}/two")
    ctx = context.build(capped, client)
    assert websub.run_verify(ctx, *first)["state"] == "verified"
    result = websub.run_verify(ctx, *second)
    assert result["state"] == "failed" and "holds 1 subscriptions" in result["reason"]
    assert hub.status(client, topic, f"{subscriber.url}/two")["subscription"] is None
    assert urlsplit(subscriber.url).hostname == "127.0.0.1"


@pytest.mark.parametrize("lease", ["9" * 5000, "²", "١٢", "9" * 16])
def test_a_lease_that_is_no_bounded_whole_number_is_400_over_http(
    live_server: str,
    client: redis.Redis,
    lease: str,
) -> None:
    callback = "http://hooks.wirefeed-test.invalid/cb"
    data = {**form(Settings(base_url=live_server), callback), "hub.lease_seconds": lease}
    resp = requests.post(f"{live_server}/websub", data=data, timeout=10)
    assert resp.status_code == 400, resp.text[:200]
    assert resp.text == "hub.lease_seconds must be a whole number of seconds\n"
    assert verifications_queued(client) == []

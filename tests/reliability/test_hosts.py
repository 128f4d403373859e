"""Several hosts against one Redis, sharing no file: what scaling out needs.

Each "host" (two web processes, an ingest + express worker, a categorizer + WebSub worker, a
machine running the CLI) gets a folder of its own as working directory, ``HOME``, ``TMPDIR``,
``WIREFEED_DATA_DIR`` and ``WIREFEED_METRICS_DIR`` (``PROMETHEUS_MULTIPROC_DIR``); the only
thing they share is the Redis URL. Dumps posted to one web process (and queued by the CLI on
another host) are ingested by the workers, served by the other web process with their CDN
surrogate keys, pushed to a WebSub subscriber, and purged at a CDN endpoint
(``WIREFEED_PURGE_URL``, a local HTTP receiver that refuses the first purge, so rq retries it).
Afterwards no host holds a wirefeed file (no ``redis.url``, no inbox): no code path of these
processes reads or writes a shared filesystem.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.reliability.conftest import AUTH, RedisServer, Stack, settings_for, wait_for, wait_ingest
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.ha import Receiver
from tests.reliability.observe import snapshot, stored_once
from wirefeed.feeds.websub import hub
from wirefeed.redis_server import free_port

TITLES = unique_titles(700, seed=77)


def host_env(stack: Stack, root: Path, name: str, url: str, **extra: str) -> tuple[dict[str, str], Path]:
    home = root / name
    dirs = {d: home / d for d in ("cwd", "home", "tmp", "data", "prometheus")}
    for d in dirs.values():
        d.mkdir(parents=True)
    env = stack.env(
        url,
        HOME=str(dirs["home"]),
        TMPDIR=str(dirs["tmp"]),
        WIREFEED_DATA_DIR=str(dirs["data"]),
        PROMETHEUS_MULTIPROC_DIR=str(dirs["prometheus"]),
        WIREFEED_METRICS_DIR=str(dirs["prometheus"]),  # what `wirefeed serve` hands gunicorn as the above
        WIREFEED_BATCH_SIZE="100",
        WIREFEED_WEBSUB_ALLOW_PRIVATE="1",
        **extra,
    )
    return env, dirs["cwd"]


def start_hosts(stack: Stack, hosts: Path, url: str, receiver: str) -> tuple[list[str], str]:
    """Two web hosts, two worker hosts (ingest + express, categorize + websub); the web URLs and
    the public base URL."""
    ports = [free_port(), free_port()]
    public = f"http://127.0.0.1:{ports[0]}"
    common = {"WIREFEED_BASE_URL": public, "WIREFEED_PURGE_URL": f"{receiver}/purge"}
    webs = []
    for n, port in enumerate(ports):
        env, cwd = host_env(stack, hosts, f"web-{n}", url, **common)
        argv = [sys.executable, "-m", "wirefeed", "serve", "--port", str(port), "--workers", "1"]
        stack.spawn(f"web-{n}", argv, env, cwd)
        webs.append(f"http://127.0.0.1:{port}")
    for name, queues in (
        ("work-a", "ingest"),
        ("work-a", "express"),
        ("work-b", "categorize"),
        ("work-b", "websub"),
    ):
        env, cwd = host_env(stack, hosts, f"{name}-{queues}", url, **common)
        stack.spawn(
            f"worker-{queues}", [sys.executable, "-m", "wirefeed", "worker", "--queues", queues], env, cwd
        )
    for base in webs:
        wait_for(f"{base} is up", lambda b=base: requests.get(f"{b}/healthz", timeout=2).ok, timeout=60)
    return webs, public


def test_web_and_workers_on_separate_hosts_share_only_redis(
    redis_server: RedisServer, stack: Stack, tmp_path: Path
) -> None:
    url = redis_server.url()
    receiver = Receiver(statuses=[503])  # the first purge is refused: rq retries it
    server = receiver.serve()
    try:
        hosts = tmp_path / "hosts"
        webs, public = start_hosts(stack, hosts, url, receiver.url)

        topic, callback = f"{public}/feeds/all.json", f"{receiver.url}/hook"
        resp = requests.post(
            f"{webs[1]}/websub",
            data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback},
            timeout=10,
        )
        assert resp.status_code == 202, resp.text
        client = redis_server.client()
        wait_for("subscribed", lambda: hub.status(client, topic, callback)["subscription"], timeout=60)

        # A dump posted to web-0, its progress read on web-1.
        first = requests.post(f"{webs[0]}/api/ingest", data=dump(TITLES[:600]), headers=AUTH, timeout=60)
        assert first.status_code == 202, first.text
        assert wait_ingest(webs[1], first)["new"] == 600
        # A dump queued by the CLI on a host of its own.
        env, cwd = host_env(stack, hosts, "cli", url, WIREFEED_BASE_URL=public)
        (cwd / "small.txt").write_bytes(dump(TITLES[600:]))
        done = subprocess.run(
            [sys.executable, "-m", "wirefeed", "ingest", "--wait", "small.txt"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and "100 new" in done.stdout, done.stdout + done.stderr

        # Served by the other web process, with surrogate keys; a story page by the first.
        feed = requests.get(f"{webs[1]}/feeds/all.json?limit=200", timeout=10)
        assert feed.status_code == 200
        assert {"feeds", "topic-all"} <= set(feed.headers["Surrogate-Key"].split())
        newest = feed.json()["items"][0]
        assert newest["title"] in TITLES[600:]
        story_id = newest["url"].rsplit("/", 1)[1]
        page = requests.get(f"{webs[0]}/stories/{story_id}", timeout=10)
        assert page.status_code == 200 and f"story-{story_id}" in page.headers["Surrogate-Key"].split()

        # Pushed to the subscriber; purged at the CDN endpoint (after one refusal and a retry).
        wait_for(
            "a WebSub delivery of the CLI's dump",
            lambda: any(newest["title"] in r.body.decode() for r in receiver.received("/hook")),
            timeout=60,
        )

        def purged() -> set[str]:
            return {k for r in receiver.received("/purge")[1:] for k in r.json()["surrogate_keys"]}

        def refused() -> set[str]:
            posts = receiver.received("/purge")
            return set(posts[0].json()["surrogate_keys"]) if posts else {"(no purge yet)"}

        wait_for(
            "the topic and story keys purged, and the refused purge retried",
            lambda: {"topic-all", f"story-{story_id}"} | refused() <= purged(),
            timeout=90,
            poll=0.5,
        )
    finally:
        server.shutdown()
        server.server_close()

    snap = snapshot(client, settings_for(url))
    assert sorted(snap.titles.values()) == sorted(TITLES)
    assert stored_once(snap) == []
    # No host holds a wirefeed file: nothing was shared through a filesystem.
    written = [p.relative_to(hosts) for p in hosts.rglob("*") if p.is_file() and p.name != "small.txt"]
    assert [p for p in written if "prometheus" not in p.parts] == []

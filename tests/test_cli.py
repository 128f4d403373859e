"""The command line as a new user meets it: help texts, what ``ingest`` says it queued and
stored, its progress bar (on a terminal only), ``classify`` output that can be matched to its
input, and ``check-worker`` on a queue that does not exist."""

from __future__ import annotations

import argparse
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import distinct_headlines
from wirefeed.cli import build_parser
from wirefeed.config import defaults
from wirefeed.config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "wire-sample.txt"


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": settings.redis_url or "", "WIREFEED_MAX_DUMP_BYTES": "10000000"}


def _cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wirefeed", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_every_command_and_argument_has_help() -> None:
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    undocumented = []
    for name, sub in commands.choices.items():
        if not next((c.help for c in commands._choices_actions if c.dest == name), None):
            undocumented.append(name)
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction) and not action.help:
                undocumented.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert undocumented == []


def test_classify_help_says_it_reads_json_lines_on_stdin() -> None:
    out = " ".join(_cli("classify", "--help").stdout.split())
    assert "JSON lines on stdin" in out and "title" in out


def test_classify_echoes_the_id_and_title_of_each_line() -> None:
    lines = [
        {"id": "a1", "title": "Ransomware gang hits hospital network"},
        {"title": "Central bank raises interest rates again"},
    ]
    result = _cli("classify", stdin="\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    assert result.returncode == 2  # the bad line
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a1", None, None]
    assert [o.get("title") for o in out[:2]] == [x["title"] for x in lines]
    assert out[2]["error"].startswith("line 3: not JSON")


def test_check_worker_names_an_unknown_queue_without_a_traceback() -> None:
    result = _cli("check-worker", "--queues", "ingest,nosuch")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "wirefeed: unknown queue(s) nosuch: choose from ingest, express, categorize, websub"
    ]


def test_a_command_finds_redis_down_in_one_line() -> None:
    for command in (["failed"], ["split", "s1"], ["expire"]):
        result = _cli(*command, env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"})
        assert result.returncode == 1, command
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("wirefeed: Redis unavailable: "), result.stderr


def test_classify_loads_neither_redis_nor_rq_and_holds_openblas_to_blas_threads() -> None:
    code = (
        "import sys, io, os; from wirefeed.cli import main; "
        "sys.stdin = io.StringIO('{\"title\": \"x\"}\\n'); main(['classify']); "
        "print(sorted(m for m in ('redis', 'rq') if m in sys.modules)); "
        "print(os.environ['OPENBLAS_NUM_THREADS'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    cmd = [sys.executable, "-c", code]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-2:] == ["[]", str(defaults.BLAS_THREADS)]


@pytest.mark.usefixtures("client", "workers")
def test_ingest_says_items_queued_and_what_was_stored(settings: Settings, tmp_path: Path) -> None:
    one = tmp_path / "drop1.txt"
    one.write_text("A single headline about the harbour council\n")
    queued = _cli("ingest", str(one), env=_env(settings))
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith(f"{one}: queued 1 item (ingest ")
    waited = _cli("ingest", "--wait", str(SAMPLE), env=_env(settings))
    assert waited.returncode == 0, waited.stderr
    # The sample's 51 items are 48 stories (three are versions of others): both numbers, named.
    assert waited.stdout == f"{SAMPLE}: 51 items: 48 new, 0 updated, 0 unchanged\n"
    assert waited.stderr == ""  # not a terminal: no progress bar


@pytest.mark.usefixtures("client", "workers")
def test_ingest_wait_draws_a_progress_bar_on_a_terminal_only(settings: Settings, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    n = defaults.PROGRESS_MIN_STORIES + 100
    big.write_text("\n-\n".join(distinct_headlines(n, seed=7)) + "\n")
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wirefeed", "ingest", "--wait", str(big)],
            env=_env(settings),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            drawn += chunk
        out, _ = proc.communicate(timeout=180)
    finally:
        os.close(controller)
    assert proc.returncode == 0
    assert out == f"{big}: {n} items: {n} new, 0 updated, 0 unchanged\n"
    text = drawn.decode()
    assert "\r" in text and "batches" in text and "stories stored" in text
    assert f"{n:,} stories stored" in text  # the last redraw shows every story stored

"""Every Lua script of wirefeed names each key it touches in ``KEYS`` (Redis requires it for
scripts to be correct on replicas and in a cluster), checked on the scripts' text.

Scripts are found in the source (every string constant that calls ``redis.call``). For each
call, the real Redis says which arguments of that command are keys (``COMMAND INFO``: first
key, last key, step); each such argument must be ``KEYS[...]``, a name bound to an element of
``KEYS`` (``local k = KEYS[1]``, ``for _, k in ipairs(KEYS)``), or an element of a table every
element of which is set from ``KEYS``. A key built from ``ARGV`` (``ARGV[4] .. slug``), or an
argument list this check cannot see through (an ``unpack`` of something else where keys are),
fails the test.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
CALL = re.compile(r"redis\.p?call\s*\(")
INDEX = r"\[(?:[^\[\]]|\[[^\]]*\])+\]"
"""A subscript, with at most one level of subscripts inside: ``[i]``, ``[pair[1]]``."""
KEYS_ITEM = re.compile(rf"^KEYS{INDEX}$")


def lua_scripts() -> dict[str, str]:
    """``path:line`` -> the text of each Lua script in wirefeed's (git-known) Python source."""
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    out = {}
    for rel in files:
        if rel.startswith("tests/"):
            continue
        for node in ast.walk(ast.parse((ROOT / rel).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CALL.search(node.value):
                out[f"{rel}:{node.lineno}"] = node.value
    return out


def _strip_comments(lua: str) -> str:
    return re.sub(r"--[^\n]*", "", lua)


def _args(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of the call whose ``(`` is just before ``start``."""
    args, depth, quote, cur = [], 0, "", ""
    for ch in text[start:]:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append(cur.strip())
                return args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        cur += ch
    raise AssertionError(f"unbalanced call at {text[start : start + 60]!r}")


def _key_names(lua: str) -> tuple[set[str], set[str]]:
    """Names bound to one element of KEYS, and tables whose every element is set from KEYS."""
    names = set(re.findall(r"local\s+(\w+)\s*=\s*KEYS\[", lua))
    names |= set(re.findall(r"for\s+\w+\s*,\s*(\w+)\s+in\s+ipairs\(\s*KEYS\s*\)", lua))
    tables = set()
    for table in set(re.findall(rf"(\w+){INDEX}\s*=\s*KEYS\[", lua)):
        assigned = re.findall(rf"\b{table}{INDEX}\s*=\s*([^\n]+)", lua)
        if all(v.strip().startswith("KEYS[") for v in assigned):
            tables.add(table)
    return names, tables


def undeclared_keys(lua: str, key_positions: dict[str, tuple[int, int, int]]) -> list[str]:
    """The calls of a script that touch a key not taken from KEYS (or that cannot be checked)."""
    lua = _strip_comments(lua)
    names, tables = _key_names(lua)
    problems = []
    for m in CALL.finditer(lua):
        args = _args(lua, m.end())
        command = args[0].strip("'\"").lower()
        if not re.fullmatch(r"['\"][A-Za-z]+['\"]", args[0]):
            problems.append(f"command name is not a literal: {args[0]}")
            continue
        first, last, step = key_positions[command]
        if first == 0:
            continue  # no key
        rest = args[1:]
        last_index = len(rest) + last + 1 if last < 0 else last
        for pos in range(first, last_index + 1, step):
            if pos > len(rest):
                break
            arg = rest[pos - 1]
            ok = (
                KEYS_ITEM.match(arg)
                or arg in names
                or (re.fullmatch(rf"(\w+){INDEX}", arg) and arg.split("[")[0] in tables)
                or re.fullmatch(r"unpack\(\s*KEYS\s*\)", arg)
            )
            if not ok:
                problems.append(f"{command.upper()} key argument {pos}: {arg}")
        earlier = rest[: max(first - 1, 0)] + rest[first - 1 : last_index]
        if any(a.startswith("unpack(") and not re.fullmatch(r"unpack\(\s*KEYS\s*\)", a) for a in earlier):
            problems.append(f"{command.upper()}: an unpack() where keys are cannot be checked")
    return problems


@pytest.fixture(scope="module")
def key_positions(redis_url: str) -> dict[str, tuple[int, int, int]]:
    """``COMMAND INFO`` of the real Redis: command -> (first key, last key, step)."""
    info = redis.Redis.from_url(redis_url).execute_command("COMMAND", "INFO", *_commands())
    return {name: (c["first_key_pos"], c["last_key_pos"], c["step_count"]) for name, c in info.items()}


def _commands() -> set[str]:
    found = set()
    for script in lua_scripts().values():
        lua = _strip_comments(script)
        found |= {_args(lua, m.end())[0].strip("'\"").lower() for m in CALL.finditer(lua)}
    return found


def test_the_scripts_are_found() -> None:
    scripts = lua_scripts()
    registered = subprocess.run(
        ["git", "grep", "-c", "register_script(", "--", "*.py", ":!tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    calls = sum(int(line.rpartition(":")[2]) for line in registered.splitlines())
    assert len(scripts) >= calls >= 5, (scripts.keys(), registered)


def test_every_script_declares_every_key_it_touches(key_positions: dict[str, tuple[int, int, int]]) -> None:
    scripts = lua_scripts()
    problems = {where: p for where, lua in scripts.items() if (p := undeclared_keys(lua, key_positions))}
    assert problems == {}


def test_the_check_finds_keys_built_from_argv(key_positions: dict[str, tuple[int, int, int]]) -> None:
    """What the record script did before: keys made of a prefix in ARGV and a topic slug."""
    bad = """
    for _, slug in ipairs(touched) do redis.call('HSET', ARGV[5] .. slug, 'changed', now) end
    redis.call('RPUSH', ARGV[4] .. pair[1], unpack(entries, i, 10))
    redis.call('DEL', KEYS[1], 'wf:other')
    redis.call('HGET', KEYS[2], ARGV[1])
    """
    assert undeclared_keys(bad, key_positions) == [
        "HSET key argument 1: ARGV[5] .. slug",
        "RPUSH key argument 1: ARGV[4] .. pair[1]",
        "DEL key argument 2: 'wf:other'",
    ]

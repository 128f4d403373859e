"""House rules, checked on the source: import arrows point down the stack, every tunable is in
``config/defaults.py`` (and the README's settings table is generated from it), one exception
root, no oversized module.

Run ``python -m tests.test_house`` to rewrite the README's settings table after changing a default.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import wirefeed
from wirefeed.config import defaults
from wirefeed.errors import WirefeedError

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"config": 0, "feeds": 1, "services": 2, "workers": 2, "wirefeed": 3}
"""Each top-level folder's place in the stack; a module imports only from lower places (and its
own folder); ``wirefeed.errors`` sits below them all."""
OLD_TOP_LEVEL = ("config", "feeds", "services", "workers")
MAX_LINES = 400
README = ROOT / "README.md"
TABLE_START = "<!-- settings table: generated from config/defaults.py by `python -m tests.test_house` -->"
TABLE_END = "<!-- end of settings table -->"
NOT_TUNABLES = {("services/feeds_bp.py", "FINAL"), ("feeds/categorize/classifier.py", "PAIR_HASH")}
"""Numeric module constants that are markers or part of a file format (the token-pair hash of the
shipped model), not settings."""


def production_files() -> list[Path]:
    return sorted(p for d in LAYERS for p in (ROOT / d).rglob("*.py"))


def source_files() -> list[Path]:
    others = ("tests", "bench", "models")
    return production_files() + sorted(p for d in others for p in (ROOT / d).rglob("*.py"))


def layer_of_module(name: str) -> int | None:
    """The stack place of an imported ``wirefeed.*`` module; ``None`` for anything else."""
    parts = name.split(".")
    if parts[0] != "wirefeed":
        return None
    if len(parts) == 1 or parts[1] == "errors":
        return -1
    return LAYERS.get(parts[1], LAYERS["wirefeed"])


def imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def test_every_import_points_down_the_stack() -> None:
    wrong = []
    for path in production_files():
        folder = path.relative_to(ROOT).parts[0]
        own = LAYERS[folder]
        for line, name in imports(path):
            target = layer_of_module(name)
            same_folder = name.split(".")[1:2] == [folder] or (folder == "wirefeed" and target == 3)
            if target is not None and target >= own and not same_folder:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_nothing_imports_the_old_top_level_names() -> None:
    """Only the ``wirefeed`` namespace is installed: ``import feeds`` works only in a checkout."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in source_files()
        for line, name in imports(path)
        if name.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert wrong == []


def test_the_web_service_loads_no_worker_and_no_categorizer() -> None:
    import subprocess

    code = "import sys, wirefeed.services.app; print(sorted(m for m in sys.modules if m.startswith(("
    code += "'numpy', 'wirefeed.workers', 'wirefeed.feeds.categorize.embed'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    if isinstance(node, ast.Tuple):  # a flat tuple of numbers is a setting; nested ones are data
        return bool(node.elts) and all(_is_number(e) and not isinstance(e, ast.Tuple) for e in node.elts)
    return False


def test_every_numeric_tunable_lives_in_defaults() -> None:
    found = []
    for path in production_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "config/defaults.py":
            continue
        for node in ast.parse(path.read_text()).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            value = getattr(node, "value", None)
            numeric = isinstance(target, ast.Name) and value is not None and _is_number(value)
            if numeric and (rel, target.id) not in NOT_TUNABLES:  # type: ignore[union-attr]
                found.append(f"{rel}:{node.lineno} {target.id}")  # type: ignore[union-attr]
    assert found == []


def default_docs() -> dict[str, str]:
    """Each constant of ``config/defaults.py`` and the docstring under it."""
    body = ast.parse(Path(defaults.__file__).read_text()).body
    docs: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id.isupper():
            is_doc = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
            docs[target.id] = " ".join(after.value.value.split()) if is_doc else ""  # type: ignore[union-attr]
    return docs


def test_every_default_has_a_docstring() -> None:
    docs = default_docs()
    assert [name for name, doc in docs.items() if not doc] == []
    assert set(docs) == {n for n in vars(defaults) if n.isupper()}


ENV = re.compile(r"\s*\(``((?:WIREFEED_|REDIS_)[A-Z_]+)``(?:,? ?([^)]*))?\)")


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        value = ",".join(map(str, value))
    if value is None or value == "":
        return "(none)"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def settings_table() -> str:
    """The README's table of environment settings, from the docstrings in ``config/defaults.py``."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, doc in default_docs().items():
        m = ENV.search(doc)
        if m:
            meaning = (doc[: m.start()] + doc[m.end() :]).strip().replace("``", "`")
            if m.group(2):
                meaning = meaning.rstrip(".") + f" ({m.group(2)})."
            rows.append(f"| `{m.group(1)}` | {_shown(getattr(defaults, name))} | {meaning} |")
    return "\n".join(rows)


def readme_table() -> str:
    text = README.read_text()
    assert TABLE_START in text and TABLE_END in text, "README lost its settings-table markers"
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()


def test_readme_settings_table_is_generated_from_defaults() -> None:
    assert readme_table() == settings_table(), "run: python -m tests.test_house"


def test_every_environment_variable_read_is_documented() -> None:
    read = set(re.findall(r'"((?:WIREFEED_|REDIS_)[A-Z_]+)"', (ROOT / "config" / "settings.py").read_text()))
    documented = set(re.findall(r"`((?:WIREFEED_|REDIS_)[A-Z_]+)`", readme_table()))
    assert read == documented


def all_modules() -> list[str]:
    names = ["wirefeed"]
    for info in pkgutil.walk_packages(wirefeed.__path__, "wirefeed."):
        names.append(info.name)
    for sub in ("config", "feeds", "services", "workers"):
        pkg = importlib.import_module(f"wirefeed.{sub}")
        names += [i.name for i in pkgutil.walk_packages(pkg.__path__, f"wirefeed.{sub}.")]
    return sorted(set(names))


def test_one_exception_root_in_one_module() -> None:
    stray = []
    for name in all_modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            ours = cls.__module__ == name and issubclass(cls, BaseException)
            if ours and (name != "wirefeed.errors" or not issubclass(cls, WirefeedError)):
                stray.append(f"{name}.{cls_name}")  # every error is a WirefeedError in errors.py
    assert stray == []


DEFAULTS = ROOT / "config" / "defaults.py"
"""A flat list of every tunable (one module by design, like rq's ``defaults``), each entry a
constant and its docstring; it holds no logic."""


@pytest.mark.parametrize("path", production_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_oversized(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_defaults_hold_no_logic() -> None:
    """``defaults.py`` holds nothing but constants and docstrings."""
    tree = ast.parse(DEFAULTS.read_text())
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "Assign", "AnnAssign", "ImportFrom", "Import"}


if __name__ == "__main__":
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{settings_table()}\n{TABLE_END}{tail}")
    print("README settings table rewritten")

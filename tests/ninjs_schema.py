"""The IPTC ninjs 3.1 JSON Schema and a validator for it (formats ``uri`` and ``date-time``
checked), for the tests of ``/stories/<id>.ninjs`` and ``/feeds/<topic>.ninjs``.

Where the schema is read from, first found wins: ``$WIREFEED_NINJS_SCHEMA_DIR``, the checkout's
sibling ``../shared/standards/``, the copy vendored in ``tests/data/ninjs/`` (MIT, licence beside
it). A test that finds none (or no jsonschema) skips with a one-line reason.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_NAME = "ninjs-schema_3.1.json"


def schema_path() -> Path | None:
    dirs = [ROOT.parent / "shared" / "standards", ROOT / "tests" / "data" / "ninjs"]
    if os.environ.get("WIREFEED_NINJS_SCHEMA_DIR"):
        dirs.insert(0, Path(os.environ["WIREFEED_NINJS_SCHEMA_DIR"]))
    return next((d / SCHEMA_NAME for d in dirs if (d / SCHEMA_NAME).is_file()), None)


@cache
def validator() -> Any:
    """A Draft 2020-12 validator of the ninjs 3.1 schema that checks formats; skips if absent."""
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (pip install '.[test]')"
    )
    for checker in ("rfc3339_validator", "rfc3986_validator"):
        pytest.importorskip(checker, reason=f"{checker} is not installed: formats would go unchecked")
    path = schema_path()
    if path is None:
        pytest.skip(f"no {SCHEMA_NAME} (set WIREFEED_NINJS_SCHEMA_DIR)")
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(item: dict[str, Any]) -> None:
    """Fail with every schema error of ``item`` (a ninjs object)."""
    errors = sorted(validator().iter_errors(item), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])

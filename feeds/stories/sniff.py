"""Is this a wire dump at all? A file that looks like Markdown, HTML or source code is refused
whole (``not-a-dump``) before it can publish junk stories, unless the sender forces it.

A wire dump is prose: headlines and paragraphs. Two signs that it is not:

- its first non-blank line (separators aside) opens like markup or code: ``#``, ``<``, ``{``,
  ``[``, ```` ``` ````, ``import ``, ``from x import``, ``def ``, ``class ``, ``package ``,
  ``#!``, ``//``, ``/*``, ``---`` front matter with ``key: value`` lines, ...;
- most of its first lines (:data:`SNIFF_LINES`) are not prose: list bullets, table rows, code
  (indented, ending in ``{``, ``}``, ``;`` or ``)``, holding ``=`` or ``()``), tags, links.

Only the first ``SNIFF_BYTES`` are read, so the check costs the same for any size.
"""

from __future__ import annotations

import re

from wirefeed.config.defaults import SNIFF_BYTES, SNIFF_LINES

_OPENERS = re.compile(
    r"""^(?:
        \#                        # Markdown heading, shebang, shell comment, C preprocessor
      | <                         # HTML / XML
      | [{\[]                     # JSON, TOML table
      | ```|~~~                   # fenced code
      | //|/\*                    # C-style comments
      | (?:import|package|using|def|class|fn|func|function|module|namespace)\s
      | from\s+\S+\s+import\s
      | (?:var|let|const|public|private)\s
      | @\w+                      # decorator, annotation, @charset
      | \$\s                      # shell prompt
    )""",
    re.VERBOSE,
)

_NOT_PROSE = re.compile(
    r"""^(?:
        (?:\s{4,}|\t)\S           # indented code
      | [*+]\s                    # list bullet (not "- ", which is a wire subhead's opener)
      | \d+[.)]\s                 # numbered list
      | \|                        # table row
      | >                         # quote block
      | <[/!A-Za-z]               # tag
      | \[[^\]]*\]\(              # Markdown link at line start
      | [#`{}\[\]]                # heading, code, braces
      | .*(?:[{};]|\)\s*:?)\s*$   # ends like code
      | .*\w\s*=\s*\S             # assignment, key = value
      | .*\w\(.*\)                # call
      | [\w.-]+:\s*$              # YAML key
    )""",
    re.VERBOSE,
)

_SEPARATOR = re.compile(r"^[\s\-\u2010-\u2015\u2212]*$")


def refusal(data: bytes | str) -> tuple[str, int] | None:
    """Why ``data`` does not look like a wire dump, and the line that shows it; ``None`` if it
    does (or if it is empty or binary: the parser says why then)."""
    head = data[:SNIFF_BYTES]
    text = head.decode("utf-8", "ignore") if isinstance(head, bytes) else head
    text = text.removeprefix("\ufeff")
    lines = [(n, line.rstrip()) for n, line in enumerate(text.splitlines(), start=1)]
    content = [(n, line) for n, line in lines if not _SEPARATOR.match(line)]
    if not content:
        return None
    n, first = content[0]
    if _OPENERS.match(first.lstrip()) or first.strip() == "---":
        return f"it starts like Markdown, HTML or source code ({_quote(first)}), not a wire dump", n
    sample = content[:SNIFF_LINES]
    odd = [(n, line) for n, line in sample if _NOT_PROSE.match(line)]
    if len(sample) >= 4 and len(odd) * 2 > len(sample):
        n, line = odd[0]
        return (
            f"{len(odd)} of its first {len(sample)} lines are not prose (e.g. {_quote(line)}): "
            "it looks like Markdown, HTML or source code, not a wire dump",
            n,
        )
    return None


def _quote(line: str) -> str:
    line = line.strip()
    return repr(line if len(line) <= 40 else line[:39] + "…")

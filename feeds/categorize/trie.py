"""Prefix trees of regex atoms, and the one alternation each compiles to.

The rule matcher merges thousands of keywords into such trees so that, at a word start, the
regex engine follows one branch instead of trying every rule in turn (``docs/categorizer.md``).
"""

from __future__ import annotations

END = ""
"""Key marking the end of a rule in a prefix tree (no atom is empty)."""

Trie = dict[str, "Trie | int"]
"""Atom -> subtree; at :data:`END`, the value (a rule or phrase number) of the rule ending there."""


def insert(trie: Trie, atoms: tuple[str, ...]) -> Trie:
    """The node of ``trie`` at the end of the path ``atoms`` (created as needed)."""
    node = trie
    for atom in atoms:
        node = node.setdefault(atom, {})  # type: ignore[assignment]
    return node


def emit(node: Trie, ends: list[int], marker: str = "()") -> str:
    """Regex source of a prefix tree, each rule's end marked by ``marker`` (an empty group).

    The value stored at each end is appended to ``ends`` in the order of the groups, so
    ``ends[match.lastindex - 1]`` (after any groups before the tree) tells which rule matched.
    Continuations come before a rule's end, so the longest rule wins at a position (the
    word-boundary check after the tree makes the engine back off to shorter ones). With
    ``marker=""`` the source matches exactly the same (empty groups always match) but has no
    groups.
    """
    branches = [
        atom + emit(node[atom], ends, marker)  # type: ignore[arg-type]
        for atom in sorted((a for a in node if a != END), key=atom_order)
    ]
    if END in node:
        ends.append(node[END])  # type: ignore[arg-type]
        branches.append(marker)
    if len(branches) == 1:  # one way on (or only the end): no group needed
        return branches[0]
    return f"(?:{'|'.join(branches)})"


def atom_order(atom: str) -> tuple[int, str]:
    """Literal atoms first, then optional separators and wildcards (which may match nothing)."""
    return (atom.endswith(("?", "*")), atom)

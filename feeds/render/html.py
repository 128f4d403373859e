"""Text and HTML helpers of the feed renderers: XML-safe text and a story's body as HTML.

Everything a story carries is plain text. It becomes HTML only here, and only by escaping:
no text a wire dump contains can turn into live markup in a feed. The result then goes through
nh3 (a maintained HTML sanitizer) with an allow-list of the two tags a body uses, so even a bug
in the escaping could not let markup through.
"""

from __future__ import annotations

from functools import lru_cache

import nh3

from wirefeed.config import defaults
from wirefeed.feeds.stories.model import Block, Story
from wirefeed.feeds.stories.text import XML_UNSAFE

_strip_unsafe = XML_UNSAFE.sub


def xml_text(text: str) -> str:
    """``text`` without the characters that XML 1.0 forbids or discourages.

    lxml (and so feedgen) refuses to serialise a control character; the input is cleaned
    upstream, so this is a cheap last line of defence, not the cleaning itself.
    """
    return _strip_unsafe("", text)


def html_text(text: str) -> str:
    """Plain ``text`` as an HTML fragment: XML-safe, with ``&``, ``<`` and ``>`` escaped."""
    return _strip_unsafe("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body_html(story: Story) -> str:
    """The story's full text as HTML: paragraphs as ``<p>``, subheads as ``<h3>``.

    All text is escaped, so a story that says ``<script>`` shows it as text. A headline-only
    story (or an article without body blocks) is its title in one paragraph.
    """
    if not story.blocks:
        return f"<p>{html_text(story.title)}</p>"
    return _blocks_html(story.blocks)


BODY_TAGS = frozenset({"p", "h3"})
"""The only tags a story body may hold."""


def sanitize(html: str) -> str:
    """``html`` with every tag but :data:`BODY_TAGS` and every attribute removed."""
    return nh3.clean(html, tags=set(BODY_TAGS), attributes={}, link_rel=None, strip_comments=True)


@lru_cache(maxsize=defaults.RENDER_BODY_CACHE)
def _blocks_html(blocks: tuple[Block, ...]) -> str:
    """Body blocks as HTML, cached by the blocks themselves (so never stale)."""
    return sanitize(
        "\n".join(
            f"<h3>{html_text(b.text)}</h3>" if b.kind == "h" else f"<p>{html_text(b.text)}</p>"
            for b in blocks
        )
    )


def summary_text(story: Story) -> str:
    """The story's summary as plain, XML-safe text; the title where there is no summary."""
    return _strip_unsafe("", story.summary or story.title)

"""Tests of the wire-dump parser (:mod:`wirefeed.feeds.stories.parse`) and its text helpers
(:mod:`wirefeed.feeds.stories.text`).

Golden test: ``tests/data/wire-sample.golden.json`` is the parser's output for the sample
dump, checked by hand. After a deliberate change of the parser, rewrite it with::

    .venv/bin/python -c "import json, tests.test_parse as t; print(json.dumps(t.sample_as_json(), \
indent=1, ensure_ascii=False))" > tests/data/wire-sample.golden.json

and review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefeed.config.defaults import PARSE_MAX_TITLE_CHARS as MAX_TITLE_CHARS
from wirefeed.errors import InputRejected, WirefeedError
from wirefeed.feeds.stories.model import Block, ParsedStory
from wirefeed.feeds.stories.parse import ParseResult, parse_dump
from wirefeed.feeds.stories.text import clean_text, normalise_title

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "wire-sample.txt"
GOLDEN = ROOT / "tests" / "data" / "wire-sample.golden.json"
LABELS = ROOT / "tests" / "data" / "sample-labels.jsonl"

ARTICLE_TITLE = "UN members to sign cybercrime treaty opposed by rights groups"
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def story_as_json(s: ParsedStory) -> dict[str, Any]:
    return {
        "line": s.line,
        "kind": s.kind,
        "title": s.title,
        "author": s.author,
        "agency": s.agency,
        "blocks": [[b.kind, b.text] for b in s.blocks],
    }


def sample_as_json() -> list[dict[str, Any]]:
    """The parser's output for the sample, as stored in the golden file."""
    return [story_as_json(s) for s in parse_dump(SAMPLE.read_bytes()).stories]


def content(result: ParseResult) -> list[tuple[object, ...]]:
    """Stories without their line numbers, for comparing dumps laid out differently."""
    return [(s.title, s.kind, s.blocks, s.author, s.agency) for s in result.stories]


def rejected(data: bytes | str, **kw: Any) -> InputRejected:
    with pytest.raises(InputRejected) as info:
        parse_dump(data, **kw)
    return info.value


@pytest.fixture(scope="module")
def sample() -> ParseResult:
    return parse_dump(SAMPLE.read_bytes())


@pytest.fixture(scope="module")
def article(sample: ParseResult) -> ParsedStory:
    return sample.stories[-1]


# -- the sample --------------------------------------------------------------------------


def test_sample_has_51_stories_50_headlines_then_1_article(sample: ParseResult) -> None:
    assert len(sample.stories) == 51
    assert [s.kind for s in sample.stories] == ["headline"] * 50 + ["article"]
    assert sample.errors == []


def test_sample_headlines_have_no_body_and_no_byline(sample: ParseResult) -> None:
    for s in sample.stories[:50]:
        assert (s.blocks, s.author, s.agency) == ((), None, None)


def test_sample_article_title_paragraphs_subheads_and_byline(article: ParsedStory) -> None:
    assert article.title == ARTICLE_TITLE
    assert len(article.paragraphs) == 26
    assert article.subheads == ["'Weak' safeguards", "Tech sector"]
    assert (article.author, article.agency) == ("B.Shevchenko", "BTB")
    assert article.paragraphs[0].startswith("Countries sign their first UN treaty targeting cybercrime")
    last = "\"This treaty can't make up Russia's lack of political will in that regard.\""
    assert article.paragraphs[-1] == last


def test_sample_subheads_sit_between_the_right_paragraphs(article: ParsedStory) -> None:
    kinds = "".join(b.kind for b in article.blocks)
    assert kinds == "p" * 8 + "h" + "p" * 8 + "h" + "p" * 10
    assert article.blocks[8] == Block("h", "'Weak' safeguards")


def test_sample_headline_50_is_the_german_far_right_mp_before_the_article(sample: ParseResult) -> None:
    fiftieth = sample.stories[49]
    assert fiftieth.title == "German far-right MP detained over alleged Belarus sanctions breach"
    assert fiftieth.kind == "headline"
    assert (fiftieth.line, sample.stories[50].line) == (100, 101)


def test_sample_order_follows_the_dump(sample: ParseResult) -> None:
    assert sample.stories[0].title == "Iran says US talks are on, as Trump warns supreme leader"
    assert [s.line for s in sample.stories[:50]] == list(range(2, 101, 2))
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    assert [s.title for s in sample.stories] == [lab["title"] for lab in sorted(labels, key=lambda d: d["n"])]


def test_sample_matches_golden_file() -> None:
    assert sample_as_json() == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_sample_str_and_bytes_give_the_same_result(sample: ParseResult) -> None:
    assert parse_dump(SAMPLE.read_text(encoding="utf-8")) == sample


# -- tolerated variants ------------------------------------------------------------------


def test_bom_crlf_trailing_spaces_and_blank_lines_give_the_same_stories(sample: ParseResult) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    messy = "\ufeff" + "\r\n".join(
        f"{line}  \t\r\n" if i % 3 else f"\r\n{line} " for i, line in enumerate(lines)
    )
    assert content(parse_dump(messy.encode("utf-8"))) == content(sample)


def test_bom_crlf_and_trailing_spaces_keep_line_numbers(sample: ParseResult) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    messy = "\ufeff" + "\r\n".join(line + "   " for line in text.split("\n"))
    assert parse_dump(messy.encode("utf-8")) == sample


def test_cr_only_line_ends_count_as_lines() -> None:
    result = parse_dump(b"-\rFirst\r-\rSecond\r")
    assert [(s.title, s.line) for s in result.stories] == [("First", 2), ("Second", 4)]


def test_separator_lines_may_have_spaces_and_several_dashes() -> None:
    result = parse_dump("  -  \nOne\n--\nTwo\n ---\nThree\n\n\n-\n-\n")
    assert [s.title for s in result.stories] == ["One", "Two", "Three"]
    assert all(s.kind == "headline" for s in result.stories)


def test_curly_quotes_are_kept() -> None:
    title = "UK PM says Mandelson \u2018lied\u2019 about \u201cEpstein\u201d relations"
    body = "He said it was \u201cwrong\u201d."
    result = parse_dump(f"-\n{title}\n{body}\nA.Writer--AFP\n".encode())
    assert result.stories[0].title == title
    assert result.stories[0].paragraphs == [body]


def test_control_characters_are_removed() -> None:
    result = parse_dump(b"Bell\x07 and\x1b escape\x0b here\nBody\x0c text.\nX.Y--AFP\n")
    story = result.stories[0]
    assert story.title == "Bell and escape here"
    assert story.paragraphs == ["Body text."]


def test_text_is_normalised_to_nfc() -> None:
    assert parse_dump("Cafe\u0301 opens").stories[0].title == "Caf\u00e9 opens"


def test_two_articles_in_one_block_each_end_at_their_byline() -> None:
    dump = "First title\nFirst body.\nA.One--AFP\nSecond title\n- Sub -\nSecond body.\nB.Two--BTB\n"
    first, second = parse_dump(dump).stories
    assert (first.title, first.paragraphs, first.author, first.agency) == (
        "First title",
        ["First body."],
        "A.One",
        "AFP",
    )
    assert (second.title, second.blocks, second.author, second.line) == (
        "Second title",
        (Block("h", "Sub"), Block("p", "Second body.")),
        "B.Two",
        4,
    )


def test_two_articles_in_two_blocks() -> None:
    dump = "-\nT1\nP1.\nA--AFP\n-\nT2\nP2.\nB--BTB\n-\n"
    assert [(s.title, s.kind, s.agency) for s in parse_dump(dump).stories] == [
        ("T1", "article", "AFP"),
        ("T2", "article", "BTB"),
    ]


def test_article_followed_by_headlines_in_the_same_block() -> None:
    dump = "Title\nBody.\nA.B--AFP\nLater headline one\nLater headline two\n"
    stories = parse_dump(dump).stories
    assert [(s.title, s.kind, s.line) for s in stories] == [
        ("Title", "article", 1),
        ("Later headline one", "headline", 4),
        ("Later headline two", "headline", 5),
    ]
    assert stories[1].author is None


def test_headlines_before_the_title_in_one_block_are_headlines() -> None:
    dump = "Headline one\nHeadline two?\nThe title\nFirst paragraph.\nA.B--AFP\n"
    stories = parse_dump(dump).stories
    assert [(s.title, s.kind) for s in stories] == [
        ("Headline one", "headline"),
        ("Headline two?", "headline"),
        ("The title", "article"),
    ]


def test_article_without_byline_has_no_author_or_agency() -> None:
    stories = parse_dump("-\nThe title\nFirst paragraph.\nSecond one.\n-\nNext headline\n").stories
    assert [(s.title, s.kind, s.author, s.agency) for s in stories] == [
        ("The title", "article", None, None),
        ("Next headline", "headline", None, None),
    ]
    assert stories[0].paragraphs == ["First paragraph.", "Second one."]


def test_block_of_only_headline_like_lines_without_byline_is_one_headline_each() -> None:
    stories = parse_dump("One headline\nAnother headline\nA third: report\n").stories
    assert [(s.title, s.kind, s.line) for s in stories] == [
        ("One headline", "headline", 1),
        ("Another headline", "headline", 2),
        ("A third: report", "headline", 3),
    ]


def test_one_line_block_is_a_headline_even_with_final_period() -> None:
    assert parse_dump("-\nMarkets close higher.\n-\n").stories[0].kind == "headline"


def test_short_lines_after_the_body_started_are_paragraphs() -> None:
    story = parse_dump("Title\nFirst paragraph.\nA short quote line\nA.B--AFP\n").stories[0]
    assert story.paragraphs == ["First paragraph.", "A short quote line"]


def test_quoted_question_is_body_but_bare_question_is_a_title() -> None:
    story = parse_dump('Who pays?\n"Who pays?" she asked.\n"Not us?"\nA.B--AFP\n').stories[0]
    assert story.title == "Who pays?"
    assert story.paragraphs == ['"Who pays?" she asked.', '"Not us?"']


def test_title_and_byline_without_body_is_a_headline_with_byline() -> None:
    story = parse_dump("Short item\nA.B--AFP\n").stories[0]
    assert (story.kind, story.author, story.agency, story.blocks) == ("headline", "A.B", "AFP", ())


def test_double_dash_inside_a_title_is_not_a_byline() -> None:
    titles = [s.title for s in parse_dump("Trump--Putin summit set\n-\nrates--up again\n").stories]
    assert titles == ["Trump--Putin summit set", "rates--up again"]


# -- whole-input rejections --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", "", b"\n\n  \r\n", b"\xef\xbb\xbf", b"-\n--\n---\n - \n", "-\r\n\r\n-", b"\x01\x02\n\x1f"],
    ids=["bytes", "str", "blank-lines", "bom-only", "only-separators", "crlf-separators", "controls"],
)
def test_empty_dump_is_rejected_as_empty(data: bytes | str) -> None:
    err = rejected(data)
    assert err.reason == "empty"
    assert str(err).startswith("empty:")


def test_nul_byte_is_rejected_as_binary_naming_offset_and_line() -> None:
    err = rejected(b"First\r\nSecond\nth\x00ird\n")
    assert (err.reason, err.line) == ("binary", 3)
    assert "NUL byte at offset 16" in str(err)
    assert str(err).startswith("binary:") and "(line 3)" in str(err)


def test_nul_in_str_input_is_rejected_as_binary() -> None:
    err = rejected("ok\nnot\x00ok")
    assert (err.reason, err.line) == ("binary", 2)


def test_latin1_bytes_are_rejected_as_binary_naming_the_first_bad_byte() -> None:
    data = "-\nGood headline\n-\nCaf\u00e9 ferm\u00e9\n".encode("latin-1")
    err = rejected(data)
    assert (err.reason, err.line) == ("binary", 4)
    assert "byte 0xE9 at offset 21" in str(err)


def test_first_bad_byte_wins_between_nul_and_invalid_utf8() -> None:
    assert "0xFF at offset 1" in str(rejected(b"a\xffb\x00"))
    assert "NUL byte at offset 1" in str(rejected(b"a\x00b\xff"))


def test_dump_over_max_bytes_is_rejected_as_too_large() -> None:
    err = rejected(b"x" * 101, max_bytes=100)
    assert (err.reason, err.line) == ("too-large", None)
    assert "101 bytes" in str(err) and "100" in str(err)
    assert parse_dump(b"x" * 100, max_bytes=100).stories[0].title == "x" * 100


def test_str_dump_size_counts_utf8_bytes() -> None:
    assert rejected("\u00e9" * 60, max_bytes=100).reason == "too-large"
    assert len(parse_dump("\u00e9" * 50, max_bytes=100).stories) == 1


def test_size_is_checked_before_decoding() -> None:
    assert rejected(b"\x00\xff" * 100, max_bytes=10).reason == "too-large"


def test_only_project_errors_are_raised() -> None:
    assert issubclass(InputRejected, WirefeedError)


# -- per-item errors ---------------------------------------------------------------------


def test_article_starting_with_subhead_is_no_title_and_other_items_are_kept() -> None:
    dump = "-\nGood one\n-\n- Subhead -\nBody text.\nA.B--AFP\n-\nGood two\n"
    result = parse_dump(dump)
    assert [s.title for s in result.stories] == ["Good one", "Good two"]
    [err] = result.errors
    assert (err.reason, err.line) == ("no-title", 4)
    assert str(err).startswith("no-title:") and "subhead" in str(err) and "(line 4)" in str(err)


def test_byline_with_nothing_before_it_is_no_title() -> None:
    result = parse_dump("Kept headline\n-\nA.B--AFP\n")
    assert [s.title for s in result.stories] == ["Kept headline"]
    assert [(e.reason, e.line) for e in result.errors] == [("no-title", 3)]


def test_paragraph_directly_followed_by_byline_is_no_title() -> None:
    result = parse_dump("Kept\n-\nThis is body text, not a title.\nA.B--AFP\n-\nAlso kept\n")
    assert [s.title for s in result.stories] == ["Kept", "Also kept"]
    assert [(e.reason, e.line) for e in result.errors] == [("no-title", 3)]
    assert "body text" in str(result.errors[0])


def test_paragraphs_after_a_byline_without_title_are_no_title() -> None:
    result = parse_dump("Title\nBody.\nA.B--AFP\nStray paragraph one.\nStray two.\n")
    assert [s.title for s in result.stories] == ["Title"]
    assert [(e.reason, e.line) for e in result.errors] == [("no-title", 4)]


def test_title_over_limit_is_too_long_title_and_others_are_kept() -> None:
    long_title = "x" * (MAX_TITLE_CHARS + 1)
    result = parse_dump(f"Kept\n-\n{long_title}\n-\n{'y' * MAX_TITLE_CHARS}\n")
    assert [len(s.title) for s in result.stories] == [4, MAX_TITLE_CHARS]
    [err] = result.errors
    assert (err.reason, err.line) == ("too-long-title", 3)
    assert str(err).startswith("too-long-title:")


def test_item_errors_serialise_with_reason_and_line() -> None:
    [err] = parse_dump("ok\n-\n- Sub -\n").errors
    assert err.to_dict() == {"reason": "no-title", "line": 3, "message": str(err)}


# -- hostile input -----------------------------------------------------------------------


def test_markup_and_cdata_end_are_kept_verbatim() -> None:
    dump = "]]> <![CDATA[ x\n<script>alert(1)</script> &amp; co\nBody with ]]> and <b>.\nA.B--AFP\n"
    result = parse_dump(dump)
    assert [s.title for s in result.stories] == ["]]> <![CDATA[ x", "<script>alert(1)</script> &amp; co"]
    assert result.stories[1].paragraphs == ["Body with ]]> and <b>."]


def test_lone_surrogates_in_str_input_are_removed() -> None:
    result = parse_dump("Broken \ud800half\udfff\nOK\ufffe\uffff line\n")
    assert [s.title for s in result.stories] == ["Broken half", "OK line"]


def test_huge_lines_and_many_separators_parse() -> None:
    dump = ("Title\n" + "word " * 20_000 + ".\n" + "-\n" * 5000 + "x" * 100_000 + "\n-\n") * 5
    result = parse_dump(dump)
    assert [s.kind for s in result.stories] == ["article"] * 5
    assert [e.reason for e in result.errors] == ["too-long-title"] * 5


def test_long_runs_of_combining_marks_are_cut() -> None:
    result = parse_dump("Zalgo\n-\na" + "\u0301\u0316" * 100_000 + "\n")
    assert len(result.stories) == 2
    assert len(result.stories[1].title) < 40


def test_long_whitespace_runs_parse() -> None:
    result = parse_dump("-\n".join(["- " + " " * 100_000 + "x\n", "a" + " " * 100_000 + "--AFP\n", "End\n"]))
    assert result.stories[-1].title == "End"


def test_20000_stories_all_parse() -> None:
    items = []
    for i in range(20_000):
        if i % 10:
            items.append(f"Headline number {i} about something that happened in the world today")
        else:
            items.append(f"Title {i}\n" + "A paragraph of a story, said someone.\n" * 3 + "J.Doe--AFP")
    dump = "\n-\n".join(items).encode()
    result = parse_dump(dump)
    assert len(result.stories) == 20_000


ANY_TEXT = st.one_of(
    st.text(),
    # st.text() never draws lone surrogates; a str from a careless caller may hold them
    st.lists(
        st.one_of(
            st.integers(0xD800, 0xDFFF).map(chr),
            st.characters(),
            st.sampled_from(["\n", "\r", "\r\n", "-", " ", "\x01", "\ufeff", "A.B--AFP", "- S -", "\u0301"]),
        )
    ).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_any_text_parses_to_xml_safe_titles_or_is_rejected(text: str) -> None:
    try:
        result = parse_dump(text)
    except InputRejected:
        return
    for s in result.stories:
        assert s.title and not XML_ILLEGAL.search(s.title)
        assert not any(XML_ILLEGAL.search(b.text) for b in s.blocks)
        assert s.line >= 1


LINE_KINDS = ["-", "--", "Head line", "Body text.", "- Sub -", "A.B--AFP", "", " "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINE_KINDS), max_size=30))
def test_any_mix_of_line_kinds_never_crashes(lines: list[str]) -> None:
    try:
        result = parse_dump("\n".join(lines))
    except InputRejected as err:
        assert err.reason == "empty"
        return
    assert all(s.line >= 1 for s in result.stories)
    assert all(e.reason == "no-title" for e in result.errors)


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_any_bytes_parse_or_are_rejected(data: bytes) -> None:
    try:
        parse_dump(data)
    except InputRejected as err:
        assert err.reason in {"empty", "binary"}


# -- text helpers ------------------------------------------------------------------------


def test_clean_text_removes_xml_illegal_characters_and_trailing_spaces() -> None:
    assert clean_text("a\x00b\x08c\td\x0be\x1ff\ufffeg\uffff\ud800h  \n") == "abc\tdefgh"
    assert clean_text("line one  \nline two\t") == "line one\nline two"


def test_clean_text_normalises_to_nfc() -> None:
    assert clean_text("e\u0301") == "\u00e9"


@pytest.mark.parametrize(
    "variant",
    [
        "UK PM says Mandelson \u2018lied\u2019 about Epstein relations",
        "uk pm says mandelson 'lied' about epstein relations",
        "  UK  PM says\tMandelson 'lied' about Epstein relations.",
        "UK PM SAYS MANDELSON \u2018LIED\u2019 ABOUT EPSTEIN RELATIONS",
    ],
)
def test_normalise_title_ignores_case_quotes_spacing_and_end_punctuation(variant: str) -> None:
    assert normalise_title(variant) == normalise_title("UK PM says Mandelson 'lied' about Epstein relations")
    assert normalise_title(variant) == "uk pm says mandelson 'lied' about epstein relations"


def test_normalise_title_unifies_dashes_and_keeps_inner_punctuation() -> None:
    assert normalise_title("Iran\u2013US talks \u2014 what next?") == "iran-us talks - what next"
    assert normalise_title("\u201cAll-time great\u201d: Maye") == 'all-time great": maye'

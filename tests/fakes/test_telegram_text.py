"""The fake Telegram's text formatting: what Telegram makes of HTML, MarkdownV2 and Markdown, and what it refuses."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.helpers import escape_markdown

from tests.fakes.telegram_text import (
    FormattingError,
    command_entities,
    format_text,
    leading_command,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)


def test_html_when_nested_tags_and_emoji_then_offsets_count_utf16_units() -> None:
    text, entities = parse_html('📈 <b>BTC <i>up</i></b> <a href="https://x.example">chart</a> &lt;3 &#x27;')
    assert text == "📈 BTC up chart <3 '"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 6},
        {"type": "italic", "offset": 7, "length": 2},
        {"type": "text_link", "offset": 10, "length": 5, "url": "https://x.example"},
    ]
    assert utf16_len("📈") == 2


def test_html_when_pre_has_language_code_then_pre_entity_carries_it() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert {"type": "pre", "offset": 0, "length": 5, "language": "python"} in entities


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_html_when_malformed_then_refused_like_telegram(source: str, error: str) -> None:
    with pytest.raises(FormattingError) as refused:
        parse_html(source)
    assert str(refused.value) == error


def test_markdown_v2_when_escaped_and_marked_then_entities_and_plain_text() -> None:
    text, entities = parse_markdown_v2(r"*PnL* \+1\.5% __u__ ||s|| `a_b` [site](https://x.example/a\)b)")
    assert text == "PnL +1.5% u s a_b site"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "underline", "offset": 10, "length": 1},
        {"type": "spoiler", "offset": 12, "length": 1},
        {"type": "code", "offset": 14, "length": 3},
        {"type": "text_link", "offset": 18, "length": 4, "url": "https://x.example/a)b"},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Profit: 1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("-5%", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("x `code", "Can't find end of Code entity at byte offset 2"),
    ],
)
def test_markdown_v2_when_reserved_or_unclosed_then_refused(source: str, error: str) -> None:
    with pytest.raises(FormattingError) as refused:
        parse_markdown_v2(source)
    assert str(refused.value) == error


def test_markdown_legacy_when_marked_then_entities_and_unclosed_refused() -> None:
    assert parse_markdown("*a* _b_ [c](https://x.example)") == (
        "a b c",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "text_link", "offset": 4, "length": 1, "url": "https://x.example"},
        ],
    )
    with pytest.raises(FormattingError, match="byte offset 2"):
        parse_markdown("a *b")


def test_format_when_text_has_outer_whitespace_then_trimmed_and_entities_shifted() -> None:
    assert format_text("\n  <b>hi</b> there \n", "HTML") == ("hi there", [{"type": "bold", "offset": 0, "length": 2}])
    assert format_text("  plain <b>  ", None) == ("plain <b>", [])
    explicit = [{"type": "bold", "offset": 1, "length": 2}]
    assert format_text(" ab", "HTML", explicit) == ("ab", [{"type": "bold", "offset": 0, "length": 2}])


def test_commands_when_user_writes_them_then_bot_command_entities() -> None:
    assert command_entities("/addpair BTC/USDT 1000") == [{"type": "bot_command", "offset": 0, "length": 8}]
    assert command_entities("🙂 /status@quorum_test_bot now") == [{"type": "bot_command", "offset": 3, "length": 23}]
    assert command_entities("no/command here") == []
    assert leading_command("/pause@other_bot BTC") == "/pause@other_bot" and leading_command("hi /x") is None


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_html_when_text_is_escaped_then_it_comes_back_unchanged(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_markdown_v2_when_escaped_by_ptb_helper_then_it_comes_back_unchanged(text: str) -> None:
    assert parse_markdown_v2(escape_markdown(text, version=2)) == (text, [])

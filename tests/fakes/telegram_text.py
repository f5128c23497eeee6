"""Text formatting as the Telegram Bot API applies it: HTML / MarkdownV2 / Markdown parsing into plain text and
entities (offsets in UTF-16 code units), whitespace trimming, and bot_command detection in users' messages.

The parsers follow tdlib's rules closely enough that text a real Telegram would refuse with
"can't parse entities" is refused here with the same kind of message, so rendering bugs show up in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_SPACES = " \t\n\r\v\f"
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")


class FormattingError(ValueError):
    """The text is refused: str(error) is the part after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Builder:
    """Plain text being assembled, with its UTF-16 length kept alongside."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append({"type": kind, "offset": start, "length": self.length - start, **extra})

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    stack: list[tuple[str, int, int, dict[str, str]]] = []  # tag, plain offset, byte offset, attributes
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            match = re.match(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));", text[i:])
            decoded = None
            if match and match.group(3) is not None:
                decoded = _NAMED_ENTITIES.get(match.group(3))
            elif match:
                code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
                decoded = chr(code) if 0 < code <= 0x10FFFF else None
            if decoded is not None and match:
                out.add(decoded)
                i += match.end()
            else:
                out.add("&")
                i += 1
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end < 0:
                raise FormattingError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise FormattingError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            tag, start, _, attrs = stack.pop()
            if name and name != tag:
                raise FormattingError(
                    f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "</{tag}>", '
                    f'found "</{name}>"'
                )
            _close_html_entity(out, tag, start, attrs, stack)
            i = end + 1
            continue
        i += 1
        while i < n and text[i] not in _SPACES and text[i] not in ">/":
            i += 1
        tag = text[begin + 1 : i].lower()
        if i >= n:
            raise FormattingError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if tag not in _HTML_TAGS:
            raise FormattingError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        attrs, i = _html_attributes(text, i, tag, _byte_offset(text, begin))
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise FormattingError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
        stack.append((tag, out.length, _byte_offset(text, begin), attrs))
    if stack:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_attributes(text: str, i: int, tag: str, begin_byte: int) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise FormattingError(f"Unclosed start tag at byte offset {begin_byte}")
        if text[i] == ">":
            return attrs, i + 1
        if text[i] == "/" and i + 1 < n and text[i + 1] == ">":
            raise FormattingError(f'Unsupported self-closing tag "{tag}" at byte offset {begin_byte}')
        start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[start:i].lower()
        if not name:
            raise FormattingError(f'Empty attribute name in the tag "{tag}" at byte offset {begin_byte}')
        while i < n and text[i] in _SPACES:
            i += 1
        if i < n and text[i] != "=":
            attrs[name] = ""  # a boolean attribute, such as <blockquote expandable>
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise FormattingError(f"Unclosed start tag at byte offset {begin_byte}")
        if text[i] in "'\"":
            end = text.find(text[i], i + 1)
            if end < 0:
                raise FormattingError(f"Unclosed start tag at byte offset {begin_byte}")
            value, _ = parse_html(text[i + 1 : end]) if "&" in text[i + 1 : end] else (text[i + 1 : end], [])
            i = end + 1
        else:
            start = i
            while i < n and (text[i].isalnum() or text[i] in ".-_"):
                i += 1
            value = text[start:i]
        attrs[name] = value


def _close_html_entity(
    out: _Builder, tag: str, start: int, attrs: dict[str, str], stack: list[tuple[str, int, int, dict[str, str]]]
) -> None:
    kind = _HTML_TAGS[tag]
    if kind == "text_link":
        href = attrs.get("href", "")
        if href.startswith("tg://user?id="):
            out.entity(
                "text_mention", start, user={"id": int(href.split("=", 1)[1]), "is_bot": False, "first_name": ""}
            )
        elif href:
            out.entity("text_link", start, url=href)
    elif kind == "code" and stack and stack[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
        stack[-1][3]["language"] = attrs["class"].removeprefix("language-")
    elif kind == "pre" and attrs.get("language"):
        out.entity("pre", start, language=attrs["language"])
    elif kind == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", start)
    elif kind == "custom_emoji":
        out.entity("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id", ""))
    else:
        out.entity(kind, start)


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    stack: list[tuple[str, int, int, str]] = []  # kind, plain offset, byte offset, plain text index for links
    i, n = 0, len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    while i < n:
        c = text[i]
        if c == "\\" and at(i + 1) and 0 < ord(at(i + 1)) <= 126:
            out.add(at(i + 1))
            i += 2
            continue
        inside = stack[-1][0] if stack else ""
        reserved = "`" if inside in ("code", "pre") else _MDV2_RESERVED
        if c not in reserved:
            out.add(c)
            i += 1
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n") and not stack:
            line_end = text.find("\n", i)
            line_end = n if line_end < 0 else line_end
            start = out.length
            inner, inner_entities = parse_markdown_v2(text[i + 1 : line_end])
            for entity in inner_entities:
                out.entities.append({**entity, "offset": entity["offset"] + start})
            out.add(inner)
            out.entity("blockquote", start)
            i = line_end
            continue
        closes = {
            "bold": c == "*",
            "italic": c == "_" and at(i + 1) != "_",
            "underline": c == "_" and at(i + 1) == "_",
            "strikethrough": c == "~",
            "spoiler": c == "|" and at(i + 1) == "|",
            "code": c == "`",
            "pre": text.startswith("```", i),
            "text_link": c == "]",
        }.get(inside, False)
        if closes:
            kind, start, _, _ = stack.pop()
            i += {"underline": 2, "spoiler": 2, "pre": 3}.get(kind, 1)
            if kind == "text_link":
                if at(i) != "(":
                    continue  # [text] without (url): Telegram keeps the text and drops the link
                url_start = i + 1
                url: list[str] = []
                i += 1
                while i < n and text[i] != ")":
                    if text[i] == "\\" and at(i + 1):
                        url.append(text[i + 1])
                        i += 2
                        continue
                    url.append(text[i])
                    i += 1
                if i >= n:
                    raise FormattingError(f"Can't find end of a URL at byte offset {_byte_offset(text, url_start)}")
                i += 1
                out.entity("text_link", start, url="".join(url))
            else:
                out.entity(kind, start)
            continue
        begin = i
        if c == "_" and at(i + 1) == "_":
            kind, i = "underline", i + 2
        elif c == "_":
            kind, i = "italic", i + 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and at(i + 1) == "|":
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif text.startswith("```", i):
            kind, i = "pre", i + 3
            while i < n and text[i] not in _SPACES and text[i] != "`":
                i += 1
            if i < n and text[i] in "\r\n":
                i += 1
        elif c == "`":
            kind, i = "code", i + 1
        else:
            raise FormattingError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        stack.append((kind, out.length, _byte_offset(text, begin), ""))
    if stack:
        kind, _, byte_offset, _ = stack[-1]
        name = {"text_link": "TextUrl", "pre": "Pre", "code": "Code"}.get(kind, kind.capitalize())
        raise FormattingError(f"Can't find end of {name} entity at byte offset {byte_offset}")
    return out.result()


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); nothing nests, nothing is escaped."""
    out = _Builder()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c not in "*_`[":
            out.add(c)
            i += 1
            continue
        begin = i
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise FormattingError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            start = out.length
            out.add(text[i + 3 : end])
            out.entity("pre", start)
            i = end + 3
            continue
        closing = "]" if c == "[" else c
        end = text.find(closing, i + 1)
        if end < 0:
            raise FormattingError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")
        start = out.length
        out.add(text[i + 1 : end])
        if c == "[":
            if end + 1 < n and text[end + 1] == "(" and ")" in text[end + 1 :]:
                url_end = text.index(")", end + 1)
                out.entity("text_link", start, url=text[end + 2 : url_end])
                i = url_end + 1
                continue
            i = end + 1
            continue
        out.entity({"*": "bold", "_": "italic", "`": "code"}[c], start)
        i = end + 1
    return out.result()


def _unclosed_legacy(text: str, begin: int) -> FormattingError:
    return FormattingError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram strips leading and trailing whitespace from every text and caption; entities follow the text."""
    stripped = text.strip(_SPACES)
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(_SPACES))])
    total = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def format_text(text: str, parse_mode: str | None, entities: list[Entity] | None = None) -> tuple[str, list[Entity]]:
    """The plain text and entities a message ends up with, as Telegram stores it."""
    mode = (parse_mode or "").lower()
    if entities is not None or not mode:
        return trim(text, list(entities or []))
    return trim(*PARSERS[mode](text))


PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def command_entities(text: str) -> list[Entity]:
    """bot_command entities for every /command in a user's text, as Telegram marks them."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group())}
        for match in _COMMAND.finditer(text)
    ]


def leading_command(text: str) -> str | None:
    """The /command (with its @bot suffix, if any) that a text starts with."""
    match = _COMMAND.match(text)
    return match.group() if match else None

"""Just enough YAML to read docker-compose.yml without a YAML library: block mappings and sequences by
indentation, `- ` items (scalars or mappings), flow sequences written as JSON, quoted and plain scalars, and
comments. Anything else (anchors, multi-line strings, flow mappings) raises, so the compose file stays inside
what this reads."""

from __future__ import annotations

import json
import re
from typing import Any

_UNSUPPORTED = re.compile(r"^[&*!|>{]")
_KEY = re.compile(r"^[\w.-]+:( |$)")  # `key: value` or `key:`; `pgdata:/var/lib/...` is a plain scalar


def load(text: str) -> Any:
    lines = []
    for raw in text.splitlines():
        stripped = _strip_comment(raw).rstrip()
        if stripped.strip():
            lines.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
    value, end = _block(lines, 0, 0)
    if end != len(lines):
        raise ValueError(f"unexpected indentation at {lines[end][1]!r}")
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            content = lines[i][1][2:]
            if _KEY.match(content):
                # a mapping item: its first key on the dash line, the rest indented under it
                sub = [(indent + 2, content)]
                j = i + 1
                while j < len(lines) and lines[j][0] > indent:
                    sub.append(lines[j])
                    j += 1
                value, _ = _block(sub, 0, indent + 2)
                items.append(value)
                i = j
            else:
                items.append(_scalar(content))
                i += 1
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        if not _KEY.match(lines[i][1]):
            raise ValueError(f"not a `key: value` line: {lines[i][1]!r}")
        key, _, rest = lines[i][1].partition(":")
        if not rest.strip():
            if i + 1 < len(lines) and lines[i + 1][0] > indent:
                mapping[key.strip()], i = _block(lines, i + 1, lines[i + 1][0])
            else:
                mapping[key.strip()], i = None, i + 1
        else:
            mapping[key.strip()], i = _scalar(rest.strip()), i + 1
    return mapping, i


def _scalar(text: str) -> Any:
    if _UNSUPPORTED.match(text):
        raise ValueError(f"outside the YAML subset: {text!r}")
    if text.startswith("["):
        return json.loads(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text

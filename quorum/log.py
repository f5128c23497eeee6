"""Logging with loguru: one configuration, and a redaction pass over every line that leaves the process.

Redaction works on the fully formatted line, tracebacks included, so a secret inside an exception message is
masked too. Known secrets (from settings, or registered when credentials are decrypted) are masked exactly;
anything shaped like a key or token is masked by pattern.

LOG_FORMAT=json writes one flat JSON object per line: time, level, logger, function, line, message, the bound
context (the engine's lines carry user_id, symbol and cycle: engine/manager.py binds them around every step) and
the exception's traceback. Each value is redacted before it is encoded, so JSON quoting can never hide a secret
from the patterns, and a context value whose name says it is a secret (token, api_key, ...) is masked whole.
"""

from __future__ import annotations

import json as jsonlib
import re
import sys
import threading
import traceback
from datetime import UTC
from typing import Any, TextIO

from loguru import logger

MASK = "[REDACTED]"

_PATTERNS = [
    # key=value / "key": "value" for names that hold secrets
    re.compile(
        r"(?i)((?:api[_-]?key|api[_-]?secret|secret|password|passwd|token|signature|master[_-]?key|x-mbx-apikey"
        r"|authorization)[\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+)?([^\s\"'&,;}]+)"
    ),
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot token
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),  # OpenAI / DeepSeek / Anthropic style keys
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/\s]+:)([^@\s]+)(@)"),  # password in a database URL
    re.compile(r"\b[A-Za-z0-9+/_-]{40,}={0,2}"),  # long opaque strings: exchange keys, base64 secrets
]

_SECRET_NAME = re.compile(r"(?i)(api[_-]?key|secret|password|passwd|token|signature|master[_-]?key|authorization)")

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later log line (no-op for short or empty values)."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        if pattern.groups >= 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        elif pattern.groups == 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{MASK}", text)
        else:
            text = pattern.sub(MASK, text)
    return text


class _RedactingSink:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, message: str) -> None:
        self._stream.write(redact(message))
        self._stream.flush()


class _JsonSink:
    """One JSON object per line, built from the record (not from a formatted line) with every value redacted."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, message: Any) -> None:
        self._stream.write(json_line(message.record))
        self._stream.flush()


def json_line(record: Any) -> str:
    entry: dict[str, Any] = {
        "time": record["time"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "level": record["level"].name,
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
        "message": redact(str(record["message"])),
    }
    for key, value in record["extra"].items():
        entry.setdefault(str(key), _safe_value(str(key), value))
    error = record["exception"]
    if error is not None and error.type is not None:
        entry["exception"] = redact("".join(traceback.format_exception(error.type, error.value, error.traceback)))
    return jsonlib.dumps(entry, ensure_ascii=False, default=str) + "\n"


def _safe_value(key: str, value: object) -> object:
    if _SECRET_NAME.search(key):
        return MASK
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


LINE_FORMAT = (
    "<green>{time:YYYY-MM-DDTHH:mm:ss.SSS!UTC}Z</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {extra} - <level>{message}</level>"
)


def configure_logging(level: str = "INFO", json: bool = False, stream: TextIO | None = None) -> None:
    """Send every log line through redaction to stderr (or `stream`), as text or (json) one JSON object per line.
    Context (user, symbol, cycle ids) travels in `extra`: `logger.bind(user_id=..., symbol=..., cycle=...)` or
    `logger.contextualize(...)`."""
    out = stream or sys.stderr
    logger.remove()
    logger.add(
        _JsonSink(out).write if json else _RedactingSink(out).write,
        level=level.upper(),
        format="{message}" if json else LINE_FORMAT,
        colorize=False,
        backtrace=False,
        diagnose=False,
    )

"""Logging with loguru: one configuration, and a redaction pass over every line that leaves the process.

Redaction works on the fully formatted line, tracebacks included, so a secret inside an exception message is
masked too. Known secrets (from settings, or registered when credentials are decrypted) are masked exactly;
anything shaped like a key or token is masked by pattern.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import TextIO

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


LINE_FORMAT = (
    "<green>{time:YYYY-MM-DDTHH:mm:ss.SSS!UTC}Z</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {extra} - <level>{message}</level>"
)


def configure_logging(level: str = "INFO", json: bool = False, stream: TextIO | None = None) -> None:
    """Send every log line through redaction to stderr (or `stream`). Context (user, symbol, cycle ids)
    travels in `extra`: use `logger.bind(user_id=..., symbol=..., cycle=...)`."""
    logger.remove()
    logger.add(
        _RedactingSink(stream or sys.stderr).write,
        level=level.upper(),
        serialize=json,
        format=LINE_FORMAT,
        colorize=False,
        backtrace=False,
        diagnose=False,
    )

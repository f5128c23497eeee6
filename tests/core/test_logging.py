from __future__ import annotations

import io

from loguru import logger

from quorum.log import MASK, configure_logging, redact, register_secret


def test_redact_when_line_holds_key_shaped_values_then_masks_them() -> None:
    lines = {
        "connect api_key=AbCdEf123456 secret=zzz-top-secret": ("AbCdEf123456", "zzz-top-secret"),
        '{"apiKey": "k-998877", "password": "pa55word"}': ("pa55word",),
        "bot 123456789:AAHk3kd93kdLw0-xk2l3k4j5h6g7f8d9s0a1 started": ("AAHk3kd93kdLw0-xk2l3k4j5h6g7f8d9s0a1",),
        "openai key sk-proj-abcdefghijklmnopqrstuvwx": ("sk-proj-abcdefghijklmnopqrstuvwx",),
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload": ("eyJhbGciOiJIUzI1NiJ9.payload",),
        "db postgresql+asyncpg://quorum:hunter2@db:5432/quorum": ("hunter2",),
        "binance key vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A": (
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        ),
    }
    for line, secrets in lines.items():
        cleaned = redact(line)
        assert MASK in cleaned, line
        for secret in secrets:
            assert secret not in cleaned, line


def test_redact_when_ordinary_trading_line_then_unchanged() -> None:
    line = "user=42 symbol=BTC/USDT cycle=17 BUY 0.0125 @ 64210.5 confidence=0.74"
    assert redact(line) == line


def test_logger_when_registered_secret_appears_in_an_exception_then_masked() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    register_secret("plain-words-secret")
    try:
        raise RuntimeError("exchange refused plain-words-secret")
    except RuntimeError:
        logger.bind(user_id=7, symbol="ETH/USDT").exception("order failed")
    output = stream.getvalue()

    assert "order failed" in output and "user_id" in output
    assert "plain-words-secret" not in output and MASK in output

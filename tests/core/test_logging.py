from __future__ import annotations

import io
import json

from loguru import logger

from engine import log_context
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


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_logger_when_json_then_one_flat_object_per_line_with_the_bound_context() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    with logger.contextualize(user_id=7, symbol="ETH/USDT", cycle=1_500_000_000_000):
        logger.info("cycle {} done", 3)
    logger.debug("below the level")

    (line,) = _json_lines(stream)
    assert line["message"] == "cycle 3 done" and line["level"] == "INFO"
    assert (line["user_id"], line["symbol"], line["cycle"]) == (7, "ETH/USDT", 1_500_000_000_000)
    assert str(line["time"]).endswith("Z") and line["logger"] == __name__


def test_logger_when_json_then_secrets_in_message_context_and_traceback_are_masked() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    register_secret("json-mode-secret-41")
    quoted = 'connect {"api_key": "quoted-k3y-value", "password": "pa55word"}'  # JSON escapes these quotes
    logger.bind(user_id=1, token="a-bound-token-value").info(quoted)
    try:
        raise RuntimeError("exchange refused json-mode-secret-41 with secret=inline-s3cret")
    except RuntimeError:
        logger.bind(user_id=1).exception("order failed")

    output = stream.getvalue()
    first, second = _json_lines(stream)
    for secret in ("quoted-k3y-value", "pa55word", "a-bound-token-value", "json-mode-secret-41", "inline-s3cret"):
        assert secret not in output, secret
    assert first["token"] == MASK and MASK in str(first["message"])
    assert second["message"] == "order failed" and "RuntimeError" in str(second["exception"])
    assert MASK in str(second["exception"])


def test_step_context_when_a_line_binds_or_nests_then_the_inner_value_wins_and_nothing_outlives_the_step() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    token = log_context.enter(user_id=7, symbol="ETH/USDT", cycle=1)
    try:
        logger.info("in the step")
        logger.bind(symbol="BTC/USDT").info("bound over it")
        with logger.contextualize(cycle=2):
            logger.info("contextualized over it")
        with log_context.step_context(user_id=8):
            logger.info("nested step context")
        logger.debug("below the level: the patcher never sees it")
    finally:
        log_context.leave(token)
    logger.info("after the step")

    lines = [(line["message"], line.get("user_id"), line.get("symbol"), line.get("cycle")) for line in
             _json_lines(stream)]  # fmt: skip
    assert lines == [
        ("in the step", 7, "ETH/USDT", 1),
        ("bound over it", 7, "BTC/USDT", 1),
        ("contextualized over it", 7, "ETH/USDT", 2),
        ("nested step context", 8, "ETH/USDT", 1),
        ("after the step", None, None, None),
    ]

"""The terminal chat: `quorum run --replay` without a bot token talks through stdin/stdout with the same router
and handlers as Telegram; buttons are numbered and pressed by typing the number; end of input stops it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from adapters.exchange.candle_file import shipped_candle_file
from tests.quorum_process import QUORUM


@pytest.mark.slow
async def test_console_when_no_bot_token_then_the_same_commands_answer_in_the_terminal(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "DEEPSEEK", "TELEGRAM"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}", LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        str(QUORUM), "run", "--replay", str(shipped_candle_file()), "--speed", "3600",
        env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )  # fmt: skip
    lines = "\n".join(["/start", "connect paper 10000", "/addpair BTC/USDT 1000", "/stop", "2", "/pairs", ""])
    out, _ = await asyncio.wait_for(process.communicate(lines.encode()), timeout=120)
    text = out.decode()
    assert process.returncode == 0, text[-2000:]
    assert "Quorum console" in text
    assert "Welcome" in text or "registered" in text.lower(), text[-2000:]
    assert "10,000" in text  # the paper account's balance, without the slash typed
    assert "Added" in text and "BTC/USDT" in text
    assert "[1] Stop everything  [2] Cancel" in text  # the confirmation's buttons, numbered
    assert "Your pairs" in text and "active" in text.lower()  # "2" pressed Cancel: nothing was stopped

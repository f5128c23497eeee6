"""Issue 11: 200 users send their commands at once through the fake Telegram Bot API to `quorum run` (a subprocess,
paper accounts on the shipped candles, the engines running beside the bot): every command is answered, none with
the bot's failure sentence. Latency is a benchmark figure (bench/bench_bot_load.py prints it), not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_bot_load import COMMANDS, report, run_load

USERS = 200


@pytest.mark.slow
async def test_bot_when_200_users_send_commands_at_once_then_every_command_is_answered(tmp_path: Path) -> None:
    result = await run_load(USERS, f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}", speed=60, workdir=tmp_path)

    print("\n" + report(result))
    assert result.unanswered == [] and result.failed == []
    assert {command: len(result.latencies[command]) for command in COMMANDS} == dict.fromkeys(COMMANDS, USERS)
    assert result.messages >= USERS * len(COMMANDS)

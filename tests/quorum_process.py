"""`quorum run` as a user starts it: the real console script in a subprocess, its output in a log file. Shared by
the subprocess tests (tests/bot/test_quorum_run.py, tests/faults/)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

QUORUM = Path(sys.executable).with_name("quorum")
PROVIDER_KEYS = ("OPENAI", "ANTHROPIC", "DEEPSEEK")


def quorum_env(database_url: str, telegram: bool = False, **extra: str) -> dict[str, str]:
    """This process's environment less the LLM keys (and, without telegram, any Telegram setting: the console
    chat), with the database, hourly cycles and quiet logs."""
    dropped = PROVIDER_KEYS if telegram else (*PROVIDER_KEYS, "TELEGRAM")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(DATABASE_URL=database_url, LOG_LEVEL="WARNING", CYCLE_INTERVAL_MINUTES="60")
    env.update(METRICS_PORT="0")  # any free port: runs side by side never fight over 9108
    env.update(extra)
    return env


async def start_quorum(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """`quorum run ARGS`, appending to `log`. stdin is a pipe left open: the console chat waits on it."""
    handle = log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            str(QUORUM), "run", *args, env=env, stdin=asyncio.subprocess.PIPE, stdout=handle, stderr=handle,
            cwd=log.parent,
        )  # fmt: skip
    finally:
        handle.close()


async def stop_quorum(process: asyncio.subprocess.Process, timeout_s: float = 60) -> int:
    """SIGTERM (the graceful stop), then the exit code."""
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), timeout=timeout_s)


async def kill_quorum(process: asyncio.subprocess.Process) -> None:
    """SIGKILL if it still runs (a test's cleanup, or the fault itself), and reap it."""
    if process.returncode is None:
        process.kill()
        await process.wait()
    if process.stdin is not None:
        process.stdin.close()

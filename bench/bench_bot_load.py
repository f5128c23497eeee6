"""Many users at once through the fake Telegram Bot API: is every command answered, and how fast?

Starts the fake Bot API server (tests/fakes/telegram_api.py) in this process and `quorum run --replay` against it
(the console script in a subprocess, as deployed: paper accounts on the shipped candles, the engines stepping
beside the bot). Then --users users each send the same command sequence (/start, /connect paper, /addpair, /status,
/balance, /pairs, /profit), all starting at once, each command after the answer to the one before.

A command's latency runs from its update being made available to the bot (queued for getUpdates) to the arrival at
the server of the bot's first message in that chat after it (trade alerts excluded; /profit, whose chart may follow
its text, comes last). One user runs the sequence first, alone and unmeasured, to warm the bot up. Prints p50, p95
and max per command and overall, the throughput, and what went unanswered or was answered with the bot's failure
sentence; exits 1 if anything was.

Telegram lets a bot send about 30 messages a second in all (the bot keeps to it with PTB's AIORateLimiter), so
with many users the replies queue behind that limit: at 200 users the 1,400 answers and 200 /profit charts cannot
take less than 1,600 / 30 = 53 s, and the latency figures show that queue (messages/s is printed beside it).

Run: python bench/bench_bot_load.py [--users 200] [--speed 60] [--database-url URL]  (default: a new SQLite file;
for PostgreSQL give an empty database)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fake Bot API lives with the tests

from adapters.exchange.candle_file import shipped_candle_file  # noqa: E402
from bot.alerts import TITLES  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.fakes.telegram_model import FakeMessage, FakeUser  # noqa: E402

COMMANDS = (
    "/start",
    "/connect paper 10000",
    "/addpair BTC/USDT 1000",
    "/status",
    "/balance",
    "/pairs",
    "/profit",
)
FIRST_USER = 9_100_000
FAILURES = ("Something went wrong", "You are sending commands too fast")  # the bot's answers when it failed
ALERT_TITLES = frozenset(TITLES.values())


def is_alert(message: FakeMessage) -> bool:
    """Alerts open with their title and symbol (bot/alerts.py render): "📈 Position opened · BTC/USDT"."""
    return (message.text or "").split("\n", 1)[0].split(" · ", 1)[0] in ALERT_TITLES


@dataclass
class Replies:
    """The bot's messages in each chat (alerts left out) with the time each reached the server."""

    arrived: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    _waiters: dict[int, asyncio.Event] = field(default_factory=dict)

    def __call__(self, message: FakeMessage) -> None:
        if not message.from_bot or is_alert(message):
            return
        self.arrived[message.chat.id].append(time.perf_counter())
        self.texts[message.chat.id].append(message.text or message.caption or "")
        if (event := self._waiters.pop(message.chat.id, None)) is not None:
            event.set()

    async def wait(self, chat_id: int, count: int, timeout_s: float) -> bool:
        """Until the chat holds `count` messages of the bot; False on timeout."""
        deadline = time.perf_counter() + timeout_s
        while len(self.arrived[chat_id]) < count:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            event = self._waiters.setdefault(chat_id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return False
        return True


@dataclass
class Result:
    users: int
    latencies: dict[str, list[float]]  # command -> seconds, one per answered command
    unanswered: list[tuple[int, str]]  # (telegram id, command)
    failed: list[tuple[int, str]] = field(default_factory=list)  # answered with the bot's failure sentence
    wall_s: float = 0.0
    messages: int = 0  # the bot's messages (texts and photos) during the run, alerts included

    @property
    def commands(self) -> int:
        return self.users * len(COMMANDS)

    @property
    def answered(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def _session(telegram: FakeTelegram, replies: Replies, user: FakeUser, timeout_s: float, result: Result) -> None:
    for command in COMMANDS:
        before = len(replies.arrived[user.id])
        start = time.perf_counter()
        await telegram.send_text(user, command)  # queued for getUpdates at once
        if not await replies.wait(user.id, before + 1, timeout_s):
            result.unanswered.append((user.id, command))
            return  # the rest of the sequence depends on this answer
        result.latencies[command].append(replies.arrived[user.id][before] - start)
        if replies.texts[user.id][before].startswith(FAILURES):
            result.failed.append((user.id, command))


async def start_quorum(
    telegram: FakeTelegram, database_url: str, speed: float, log: Path
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "DEEPSEEK"))}
    env.update(
        TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_BASE_URL=telegram.base_url, DATABASE_URL=database_url,
        LOG_LEVEL="WARNING", CYCLE_INTERVAL_MINUTES="60",
    )  # fmt: skip
    quorum = Path(sys.executable).with_name("quorum")
    handle = log.open("ab")
    return await asyncio.create_subprocess_exec(
        str(quorum), "run", "--replay", str(shipped_candle_file()), "--speed", str(speed),
        env=env, stdout=handle, stderr=handle, cwd=log.parent,
    )  # fmt: skip


async def run_load(users: int, database_url: str, speed: float, workdir: Path, timeout_s: float = 300.0) -> Result:
    """Start the fake Bot API and `quorum run`, run the warm-up user, then `users` users at once."""
    async with FakeTelegram() as telegram:
        replies = Replies()
        telegram.on_message = replies
        process = await start_quorum(telegram, database_url, speed, workdir / "quorum.log")
        try:
            await telegram.wait_for_call("getUpdates", timeout=120)  # the bot is polling: Quorum is up
            warm = Result(1, defaultdict(list), [])
            await _session(telegram, replies, telegram.user(FIRST_USER - 1, "Warm", username="warm_up"), 60, warm)
            if warm.unanswered or warm.failed:
                raise RuntimeError(f"a single user's sequence failed: {warm.unanswered or warm.failed}")
            people = [telegram.user(FIRST_USER + n, f"User{n}", username=f"user{n}") for n in range(users)]
            result = Result(users, defaultdict(list), [])
            sent = telegram.calls["sendMessage"] + telegram.calls["sendPhoto"]
            start = time.perf_counter()
            await asyncio.gather(*(_session(telegram, replies, p, timeout_s, result) for p in people))
            result.wall_s = time.perf_counter() - start
            result.messages = telegram.calls["sendMessage"] + telegram.calls["sendPhoto"] - sent
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    return result


def report(result: Result) -> str:
    lines = [f"{'command':<24} {'answered':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for command in COMMANDS:
        values = result.latencies.get(command, [])
        figures = [f"{1000 * f(values):8.0f}" for f in (statistics.median, lambda v: percentile(v, 0.95), max)]
        lines.append(f"{command:<24} {len(values):>9} {' '.join(figures) if values else ''}")
    every = result.all_latencies()
    if every:
        lines.append(
            f"all: {result.answered}/{result.commands} commands answered by {result.users} users in "
            f"{result.wall_s:.1f} s ({result.answered / result.wall_s:.1f} commands/s, "
            f"{result.messages / result.wall_s:.1f} messages/s); latency p50 "
            f"{1000 * statistics.median(every):.0f} ms, p95 {1000 * percentile(every, 0.95):.0f} ms, "
            f"max {1000 * max(every):.0f} ms"
        )
    if result.unanswered or result.failed:
        lines.append(f"UNANSWERED ({len(result.unanswered)}): {result.unanswered[:10]}")
        lines.append(f"FAILED ({len(result.failed)}): {result.failed[:10]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--speed", type=float, default=60.0, help="replay speed of the engines beside the bot")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quorum-bot-load-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'quorum.db'}"
        result = asyncio.run(run_load(args.users, url, args.speed, Path(tmp)))
    print(report(result))
    return 1 if result.unanswered or result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

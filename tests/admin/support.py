"""The admin CLI as an operator runs it: `quorum admin ...` through typer's CliRunner (in this process, with its
own event loop) against a database URL, and users, pairs, trades and breakers seeded through the repositories."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from config.settings import get_settings
from db.database import Database
from db.repositories import AccountRepository, PairRepository, TradeRepository, UserRepository, UserStateRepository
from domain.money import utc_now
from quorum.cli_admin import admin_app
from risk import BreakerStatus, DailyLossState, LossStreakState

QUIET = {"TELEGRAM_BOT_TOKEN": "", "QUORUM_MASTER_KEY": "", "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""}


def quorum_admin(url: str, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> Result:
    """`quorum admin ARGS` with DATABASE_URL=url; settings are read afresh for each run."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(admin_app, list(args), env={**QUIET, "DATABASE_URL": url, **(env or {})},
                                  input=stdin, catch_exceptions=False)  # fmt: skip
    finally:
        get_settings.cache_clear()


@dataclass(frozen=True)
class Seeded:
    telegram_id: int
    user_id: int


async def seed(
    url: str,
    telegram_id: int,
    name: str,
    symbols: tuple[str, ...] = ("BTC/USDT",),
    *,
    trades: int = 0,
    tripped: bool = False,
    market_type: str = "perpetual",
) -> Seeded:
    """A user with a paper account, a pair per symbol, `trades` closed trades on the first pair (oldest first, the
    n-th with P&L n), and, when tripped, the first pair's losing streak and the daily loss limit open now."""
    database = Database(url)
    now = utc_now()
    try:
        async with database.transaction() as session:
            user, _ = await UserRepository(session).register(telegram_id, name.lower(), name)
            account = await AccountRepository(session).add_paper(user.id, Decimal(10000), "binance", market_type)
            pair_ids = []
            for symbol in symbols:
                pair = await PairRepository(session).add(user.id, symbol, Decimal(1000), 2, account.id)
                pair_ids.append(pair.id)
            repository = TradeRepository(session)
            for n in range(1, trades + 1):
                opened = now - timedelta(hours=2 * (trades - n) + 2)
                row = await repository.open(user.id, symbols[0], "long", Decimal("0.01"), Decimal(60000), opened,
                                            pair_ids[0], fees=Decimal("0.6"), leverage=2)  # fmt: skip
                closed = opened + timedelta(hours=1)
                await repository.close(user.id, row.id, Decimal(60000 + 100 * n), Decimal(n), closed, "take_profit",
                                       exit_fees=Decimal("0.6"))  # fmt: skip
            if tripped:
                streak = LossStreakState(BreakerStatus.OPEN, 3, now - timedelta(hours=1), now + timedelta(hours=3))
                await PairRepository(session).save_breaker(user.id, symbols[0], streak.to_dict(), "open")
                daily = DailyLossState(BreakerStatus.OPEN, now.date(), Decimal(0), Decimal(10000),
                                       now - timedelta(hours=1), now + timedelta(hours=3))  # fmt: skip
                await UserStateRepository(session).update(user.id, breaker=daily.to_dict(), breaker_status="open")
            return Seeded(telegram_id, user.id)
    finally:
        await database.dispose()


def seeded(url: str, telegram_id: int, name: str, *symbols: str, trades: int = 0, tripped: bool = False) -> Seeded:
    return asyncio.run(seed(url, telegram_id, name, symbols or ("BTC/USDT",), trades=trades, tripped=tripped))


def read[T](url: str, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """query(session) on the database at url, in a transaction of its own."""

    async def run() -> T:
        database = Database(url)
        try:
            async with database.transaction() as session:
                return await query(session)
        finally:
            await database.dispose()

    return asyncio.run(run())

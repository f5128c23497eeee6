"""The demo's user, paper account and pair, created through the real repositories: the engine then finds them
as it finds any user's, so a demo run leaves the same rows a live engine would."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from db.database import Database
from db.repositories import AccountRepository, PairRepository, UserRepository, UserStateRepository

DEMO_USERNAME = "demo"


@dataclass(frozen=True, slots=True)
class DemoIds:
    user_id: int
    account_id: int
    pair_id: int


async def setup_demo(
    database: Database, symbol: str, balance: Decimal, budget: Decimal, leverage: int, exchange: str
) -> DemoIds:
    """A new demo user (a negative Telegram id no real person has, one below the lowest taken, so a shared
    database gets a new demo user per run) with a perpetual paper account and the pair, in one transaction."""
    async with database.transaction() as session:
        users = UserRepository(session)
        taken = [user.telegram_id for user in await users.list_all() if user.telegram_id < 0]
        user, _ = await users.register(min(taken, default=0) - 1, DEMO_USERNAME, "Quorum demo")
        account = await AccountRepository(session).add_paper(
            user.id, balance, exchange=exchange, market_type="perpetual"
        )
        pair = await PairRepository(session).add(user.id, symbol, budget, leverage, account.id)
        await UserStateRepository(session).update(
            user.id, balance=balance, equity=balance, peak_equity=balance, day_start_equity=balance
        )
        return DemoIds(user.id, account.id, pair.id)

"""What the fault tests share: users and pairs set up through the service in a fresh database, `quorum run
--replay` on the shipped candles as a subprocess, and the books read back for comparison."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from config.settings import Settings
from db.database import Database
from domain.market import MarketType
from engine.service import QuorumService
from engine.service_gateway import FeedGateway
from tests.engine.live_support import migrated_database
from tests.quorum_process import quorum_env, start_quorum

# (Telegram id, paper balance, budget, leverage): a few users, each a BTC/USDT pair on a paper account
USERS = ((7001, "10000", "2000", 3), (7002, "5000", "1500", 2), (7003, "20000", "5000", 5))


async def set_up(url: str) -> None:
    """The users, their paper accounts and pairs, as /start, /connect paper and /addpair make them."""
    async with migrated_database(url) as database:
        feed = ReplayFeed.from_file(shipped_candle_file(), symbol="BTC/USDT", market_type=MarketType.PERPETUAL)
        service = QuorumService(database, Settings(_env_file=None), gateway=FeedGateway(feed))
        for telegram_id, balance, budget, leverage in USERS:
            await service.accounts.register(telegram_id, f"user {telegram_id}")
            await service.accounts.connect_paper(telegram_id, balance)
            await service.pairs.add(telegram_id, "BTC/USDT", budget, leverage)


async def start_replay(url: str, log: Path, end: str, *extra: str, **env: str) -> asyncio.subprocess.Process:
    """`quorum run --replay <shipped candles> --stepped --replay-end END` on the console chat."""
    args = ["--replay", str(shipped_candle_file()), "--stepped", "--replay-end", end, *extra]
    return await start_quorum(args, quorum_env(url, **env), log)


async def scalar(database: Database, sql: str) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(text(sql)) or 0)


async def progress(database: Database) -> int:
    """The latest candle any pair has claimed (where a restart resumes)."""
    return await scalar(database, "SELECT max(last_candle_ts) FROM user_pairs")


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float, every_s: float = 0.01) -> bool:
    """Poll another process's database until check() holds; False at the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(every_s)
    return True


Books = dict[str, list[tuple[object, ...]]]


async def books(database: Database) -> Books:
    """Orders, fills, trades and decisions, keyed by what identifies them (the Telegram id, not the row id)."""
    queries = {
        "orders": "SELECT u.telegram_id, o.client_order_id, o.side, o.type, o.purpose, o.amount, o.price, "
        "o.stop_price, o.status, o.filled, o.average, o.fee FROM orders o JOIN users u ON u.id = o.user_id "
        "ORDER BY 1, 2",
        "fills": "SELECT u.telegram_id, o.client_order_id, f.exchange_trade_id, f.price, f.amount, f.fee, "
        "f.executed_at FROM fills f JOIN orders o ON o.id = f.order_id JOIN users u ON u.id = f.user_id "
        "ORDER BY 1, 2, 3",
        "trades": "SELECT u.telegram_id, eo.client_order_id, t.side, t.status, t.amount, t.entry_price, "
        "t.exit_price, t.fees, t.realized_pnl, t.close_reason, t.opened_at, t.closed_at, xo.client_order_id "
        "FROM trades t JOIN users u ON u.id = t.user_id LEFT JOIN orders eo ON eo.id = t.entry_order_id "
        "LEFT JOIN orders xo ON xo.id = t.exit_order_id ORDER BY 1, t.opened_at, 2",
        "decisions": "SELECT u.telegram_id, d.consultation_key, d.action, d.outcome, d.reason_code "
        "FROM trade_decisions d JOIN users u ON u.id = d.user_id ORDER BY 1, 2, d.id",
        "balances": "SELECT u.telegram_id, s.balance, s.realized_pnl FROM user_states s "
        "JOIN users u ON u.id = s.user_id ORDER BY 1",
    }
    out: Books = {}
    async with database.transaction() as session:
        for name, sql in queries.items():
            out[name] = [tuple(_plain(v) for v in row) for row in (await session.execute(text(sql))).all()]
    return out


def _plain(value: object) -> object:
    return value.normalize() if isinstance(value, Decimal) else value


def differences(expected: Books, actual: Books) -> dict[str, dict[str, list[tuple[object, ...]]]]:
    """Per table: the rows only the uninterrupted run has (lost) and those only the faulted one has (extra or
    doubled); empty when the books are equal."""
    out = {}
    for name in expected:
        lost = _minus(expected[name], actual[name])
        extra = _minus(actual[name], expected[name])
        if lost or extra:
            out[name] = {"lost": lost, "extra": extra}
    return out


def _minus(left: list[tuple[object, ...]], right: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    rest = list(right)
    out = []
    for row in left:
        if row in rest:
            rest.remove(row)
        else:
            out.append(row)
    return out

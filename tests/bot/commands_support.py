"""What the command tests share: a user chatting with the Router (as Telegram or the console would feed it), a
cheap chart renderer, the checks every reply must pass, and a snapshot of what a user owns."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from bot.commands import Charts, build_router
from bot.replies import Reply
from bot.router import Actor, RateLimit, Router
from db.database import Database
from db.models import AuditLog, ExchangeAccount, User, UserPair
from domain.market import Candle, MarketType
from engine.charts import TradeMarker
from tests.engine.service_world import World
from tests.fakes.telegram_text import parse_html

# a real 1x1 PNG: what the cheap renderer hands back
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LEAKS = ("Traceback", "Exception", "Error(", 'File "', "NoneType", "<class", "sqlalchemy", "asyncpg")


@dataclass
class TinyCharts:
    """Records what it was asked to draw and returns a 1x1 PNG."""

    equity_calls: list[tuple[int, str, Decimal]] = field(default_factory=list)
    candle_calls: list[tuple[int, list[TradeMarker], str]] = field(default_factory=list)

    def equity(self, curve: Sequence[tuple[datetime, Decimal]], *, title: str, starting_balance: Decimal) -> bytes:
        self.equity_calls.append((len(curve), title, starting_balance))
        return PNG

    def candles(self, candles: Sequence[Candle], markers: Sequence[TradeMarker], *, title: str) -> bytes:
        self.candle_calls.append((len(candles), list(markers), title))
        return PNG


def unlimited() -> RateLimit:
    return RateLimit(burst=10**9, per_minute=10**9)


def router_for(world: World, charts: Charts | None = None, rate: RateLimit | None = None) -> Router:
    async def candles(exchange: str, market_type: MarketType, symbol: str) -> list[Candle]:
        assert exchange == world.feed.exchange_id
        return await world.feed.fetch_ohlcv(symbol, "1h", limit=48)

    return build_router(world.service, charts=charts or TinyCharts(), candles=candles, rate=rate or unlimited())


def check(reply: Reply) -> Reply:
    """What every reply must be: non-empty, HTML Telegram accepts, no internals, buttons within 64 bytes."""
    text, _ = parse_html(reply.html)
    assert text.strip(), f"empty reply: {reply!r}"
    assert not [leak for leak in LEAKS if leak in reply.html], reply.html
    assert len(reply.html) <= 4096, len(reply.html)
    for row in reply.buttons:
        for button in row:
            assert button.label and len(button.data.encode()) <= 64
    return reply


@dataclass
class Chat:
    router: Router
    actor: Actor

    async def send(self, text: str) -> list[Reply]:
        return [check(reply) for reply in await self.router.text(self.actor, text)]

    async def one(self, text: str) -> Reply:
        replies = await self.send(text)
        assert len(replies) == 1, [r.text for r in replies]
        return replies[0]

    async def press(self, data: str) -> Reply:
        replies = [check(reply) for reply in await self.router.press(self.actor, data)]
        assert len(replies) == 1, [r.text for r in replies]
        return replies[0]


def buttons(reply: Reply) -> dict[str, str]:
    """label -> callback data"""
    return {button.label: button.data for row in reply.buttons for button in row}


@dataclass(frozen=True)
class Holdings:
    """Everything of one user that a refused command must leave alone."""

    user: tuple[object, ...]
    pairs: tuple[tuple[object, ...], ...]
    accounts: tuple[tuple[object, ...], ...]
    audit_rows: int  # changes audited (the "command" rows log every command sent, so they always grow)


async def holdings(database: Database, telegram_id: int) -> Holdings:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        pairs = await session.scalars(select(UserPair).where(UserPair.user_id == user.id).order_by(UserPair.id))
        accounts = await session.scalars(
            select(ExchangeAccount).where(ExchangeAccount.user_id == user.id).order_by(ExchangeAccount.id)
        )
        audit = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.user_id == user.id, AuditLog.action != "command")
        )
        return Holdings(
            (user.mode, user.status, user.display_name, repr(sorted((user.settings or {}).items()))),
            tuple((p.symbol, p.status, p.budget, p.leverage, repr(p.risk_overrides), p.account_id) for p in pairs),
            tuple((a.exchange, a.is_paper, a.is_active, a.paper_start_balance) for a in accounts),
            int(audit or 0),
        )

"""The daily summary: each user's last 24 hours in figures, sent once a day at the hour they chose (UTC).

`DailySummaries.run_due(now)` is the whole job: for every active user with pairs, the latest summary moment at or
before `now` (today's or yesterday's chosen hour) is claimed in users.settings ("summary_sent") under the user's
row lock, then the summary of the 24 hours before it goes to the notifier port. Claim first, tell second: a
restart, a second process or a second call never sends a day twice (a crash between the two loses that one
summary rather than repeating it). A process that was down at the hour sends the missed summary when it is back,
as long as the moment is the latest one due. The scheduler calls it on the runtime's clock, so a replay gets one
summary per user per simulated day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from loguru import logger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database
from db.models import EquitySnapshot, PositionRow, TradeRow, User, UserPair, UserState
from db.repositories import UserRepository
from domain.money import ms_to_datetime
from engine.events import EngineEvent, EventKind
from engine.formatting import percent, price, signed, when
from engine.notifier import Notifier
from engine.service_pairs import quote_of
from engine.service_prefs import summary_hour

SENT_KEY = "summary_sent"  # users.settings: ISO moment of the latest summary sent
DAY = timedelta(days=1)


def due_moment(now: datetime, hour: int) -> datetime:
    """The latest moment at `hour`:00 UTC at or before now."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today <= now else today - DAY


@dataclass(frozen=True, slots=True)
class DailySummary:
    user_id: int
    start: datetime  # the 24 hours [start, end)
    end: datetime
    currency: str
    equity_start: Decimal | None  # None: nothing recorded before the window
    equity_end: Decimal
    net_pnl: Decimal  # of the trades closed in the window, fees included
    fees: Decimal
    closed: int
    wins: int
    losses: int
    opened: int
    open_positions: int
    unrealized: Decimal

    @property
    def change(self) -> Decimal | None:
        return None if self.equity_start is None else self.equity_end - self.equity_start

    def message(self) -> str:
        day = f"24 h to {when(self.end)} UTC"
        change = self.change
        if change is not None and self.equity_start:
            equity = (
                f"equity {price(self.equity_end)} {self.currency} ({signed(change)}, "
                f"{percent(change / self.equity_start, signed_=True)})"
            )
        else:
            equity = f"equity {price(self.equity_end)} {self.currency}"
        trades = (
            f"{self.closed} trade{'s' if self.closed != 1 else ''} closed ({self.wins} won, {self.losses} lost), "
            f"net P&L {signed(self.net_pnl)} incl. fees {price(self.fees)}; {self.opened} opened"
        )
        held = (
            f"{self.open_positions} open position{'s' if self.open_positions != 1 else ''}, "
            f"unrealized {signed(self.unrealized)}"
        )
        return f"{day}: {equity}. {trades}. {held}."


async def summarize(session: AsyncSession, user_id: int, end: datetime, currency: str = "USDT") -> DailySummary:
    """The figures of the 24 hours before `end`, read from the user's own rows."""
    start = end - DAY
    closed = list(
        await session.scalars(
            select(TradeRow).where(
                TradeRow.user_id == user_id, TradeRow.status == "closed",
                TradeRow.closed_at >= start, TradeRow.closed_at < end,
            )
        )
    )  # fmt: skip
    opened = await session.scalar(
        select(func.count(TradeRow.id)).where(
            TradeRow.user_id == user_id, TradeRow.opened_at >= start, TradeRow.opened_at < end
        )
    )
    positions = list(await session.scalars(select(PositionRow).where(PositionRow.user_id == user_id)))
    state = await session.get(UserState, user_id)
    equity_end = await _equity_at(session, user_id, end)
    if equity_end is None:
        equity_end = state.equity if state is not None else Decimal(0)
    pnls = [t.realized_pnl or Decimal(0) for t in closed]
    return DailySummary(
        user_id=user_id, start=start, end=end, currency=currency,
        equity_start=await _equity_at(session, user_id, start), equity_end=equity_end,
        net_pnl=sum(pnls, Decimal(0)), fees=sum((t.fees for t in closed), Decimal(0)),
        closed=len(closed), wins=sum(1 for p in pnls if p > 0), losses=sum(1 for p in pnls if p < 0),
        opened=int(opened or 0), open_positions=len(positions),
        unrealized=sum((p.unrealized_pnl for p in positions), Decimal(0)),
    )  # fmt: skip


async def _equity_at(session: AsyncSession, user_id: int, moment: datetime) -> Decimal | None:
    """The account equity last recorded before `moment` (several engines record it: the latest row wins)."""
    return await session.scalar(
        select(EquitySnapshot.equity)
        .where(EquitySnapshot.user_id == user_id, EquitySnapshot.at < moment)
        .order_by(EquitySnapshot.at.desc(), EquitySnapshot.id.desc())
        .limit(1)
    )


def summary_event(summary: DailySummary) -> EngineEvent:
    return EngineEvent(
        kind=EventKind.DAILY_SUMMARY, user_id=summary.user_id, symbol="all pairs", at=summary.end,
        message=summary.message(), pnl=summary.net_pnl, fees=summary.fees,
    )  # fmt: skip


class DailySummaries:
    def __init__(self, database: Database, notifier: Notifier) -> None:
        self.database = database
        self.notifier = notifier
        self.sent = 0

    async def run_due(self, now_ms: int) -> list[DailySummary]:
        """Send every summary due at now_ms and not sent yet; returns what was sent."""
        now = ms_to_datetime(now_ms)
        async with self.database.transaction() as session:
            candidates = await _candidates(session)
        sent = []
        for user_id in candidates:
            try:
                summary = await self._claim(user_id, now)
            except Exception:  # noqa: BLE001 - one user's failure must not hold back the others
                logger.bind(user_id=user_id).exception("daily summary failed")
                continue
            if summary is None:
                continue
            await self.notifier.notify(summary_event(summary))
            sent.append(summary)
        self.sent += len(sent)
        return sent

    async def _claim(self, user_id: int, now: datetime) -> DailySummary | None:
        async with self.database.transaction() as session:
            user = await session.scalar(select(User).where(User.id == user_id).with_for_update())
            if user is None or user.status != "active":
                return None
            moment = due_moment(now, summary_hour(user.settings))
            last = (user.settings or {}).get(SENT_KEY)
            if isinstance(last, str) and datetime.fromisoformat(last) >= moment:
                return None
            first = await session.scalar(select(func.min(EquitySnapshot.at)).where(EquitySnapshot.user_id == user_id))
            if first is None or first >= moment:
                return None  # nothing recorded before the moment: no day to sum up yet
            await UserRepository(session).set_settings(user.id, {**user.settings, SENT_KEY: moment.isoformat()})
            currency = await _currency(session, user_id)
            return await summarize(session, user_id, moment, currency)


async def _candidates(session: AsyncSession) -> Sequence[int]:
    """Active users with at least one pair that is not removed."""
    rows = await session.scalars(
        select(User.id)
        .where(User.status == "active")
        .where(select(UserPair.id).where(UserPair.user_id == User.id, UserPair.status != "stopped").exists())
        .order_by(User.id)
    )
    return list(rows)


async def _currency(session: AsyncSession, user_id: int) -> str:
    symbol = await session.scalar(
        select(UserPair.symbol).where(UserPair.user_id == user_id).order_by(UserPair.id).limit(1)
    )
    return (quote_of(symbol) if symbol else "") or "USDT"

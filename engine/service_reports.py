"""Reports a user reads: status, positions, trades, balance and the analysts' last votes on a symbol.

All of them read the user's own rows only: the engines record everything as it happens (positions marked to
market each cycle, the breaker at every transition, one decision row per cycle), so a report needs no engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from db.models import AiDecision, PositionRow, UserPair
from db.repositories import (
    AccountRepository,
    DecisionRepository,
    HeartbeatRepository,
    PositionRepository,
    TradeRepository,
    UserStateRepository,
)
from domain.money import ms_to_datetime
from engine.service_balance import read, source
from engine.service_context import PairRef, ServiceContext, find_pair, live_pairs
from engine.service_errors import NoAccount, NoDecisions
from engine.service_inputs import parse_whole, shown
from engine.service_pairs import quote_of
from engine.service_views import AccountView, BreakerView, PairView, TradeView, UserView, open_breakers
from risk import BreakerScope

MAX_PAGE = 50


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    side: str  # long | short
    amount: Decimal
    entry_price: Decimal
    leverage: int
    margin: Decimal
    mark_price: Decimal | None  # the last mark the engine recorded
    unrealized_pnl: Decimal  # at that mark
    stop_loss: Decimal | None
    take_profit: Decimal | None
    liquidation_price: Decimal | None
    opened_at: datetime
    marked_at: datetime

    @classmethod
    def of(cls, row: PositionRow) -> PositionView:
        return cls(
            row.symbol, row.side, row.amount, row.entry_price, row.leverage, row.margin, row.mark_price,
            row.unrealized_pnl, row.stop_loss, row.take_profit, row.liquidation_price, row.opened_at, row.updated_at,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PairStatus:
    pair: PairView
    position: PositionView | None
    last_cycle_at: datetime | None  # the candle the pair's last cycle processed
    engine: str | None  # the engine's last heartbeat: running | paused | error; None before its first
    engine_error: str | None
    breaker: BreakerView | None  # the pair's own breaker, when open


@dataclass(frozen=True, slots=True)
class StatusReport:
    user: UserView
    account: AccountView | None
    pairs: tuple[PairStatus, ...]
    daily_breaker: BreakerView | None
    balance: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class TradePage:
    trades: tuple[TradeView, ...]  # newest first
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class CurrencyLine:
    currency: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class BalanceReport:
    account: AccountView
    currencies: tuple[CurrencyLine, ...]
    allotted: tuple[tuple[str, Decimal], ...]  # (quote currency, sum of the pairs' budgets in it)
    equity: Decimal  # as the engines last marked the account
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class VoteView:
    provider: str
    model: str | None
    action: str | None  # None: the analyst abstained (error says why)
    confidence: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    reasoning: str | None
    error: str | None
    latency_ms: int | None

    @classmethod
    def of(cls, row: AiDecision) -> VoteView:
        return cls(
            row.provider, row.model, row.action, row.confidence, row.stop_loss, row.take_profit, row.reasoning,
            row.error, row.latency_ms,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DecisionReport:
    symbol: str
    candle_at: datetime | None  # the candle the analysts looked at
    action: str  # the consensus: BUY | SELL | HOLD | CLOSE
    confidence: Decimal | None
    consensus_reason: str | None
    outcome: str  # executed | rejected | hold | skipped | error
    reason: str | None  # what the risk manager or the engine made of it
    votes: tuple[VoteView, ...]


class ReportCalls:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def status(self, telegram_id: int) -> StatusReport:
        now = self.ctx.now()
        async with self.ctx.session(telegram_id) as (session, user):
            account = await AccountRepository(session).active(user.id)
            pairs = await live_pairs(session, user)
            positions = {row.symbol: row for row in await PositionRepository(session).list_for_user(user.id)}
            beats = {row.symbol: row for row in await HeartbeatRepository(session).list_for_user(user.id)}
            state = await UserStateRepository(session).get(user.id)
            breakers = open_breakers(pairs, state, now)
            lines = []
            for pair in pairs:
                beat = beats.get(pair.symbol)
                position = positions.get(pair.symbol)
                lines.append(
                    PairStatus(
                        PairView.of(pair), PositionView.of(position) if position else None, _cycle(pair),
                        beat.status if beat else None, beat.last_error if beat else None,
                        next((b for b in breakers if b.symbol == pair.symbol), None),
                    )
                )  # fmt: skip
            zero = Decimal(0)
            return StatusReport(
                UserView.of(user), AccountView.of(account) if account else None, tuple(lines),
                next((b for b in breakers if b.scope is BreakerScope.USER), None),
                state.balance if state else zero, state.equity if state else zero,
                state.realized_pnl if state else zero, state.unrealized_pnl if state else zero,
            )  # fmt: skip

    async def positions(self, telegram_id: int) -> tuple[PositionView, ...]:
        """Open positions with their unrealized P&L at the engine's last mark."""
        async with self.ctx.session(telegram_id) as (session, user):
            return tuple(PositionView.of(row) for row in await PositionRepository(session).list_for_user(user.id))

    async def trades(
        self, telegram_id: int, page: object = 1, per_page: int = 10, pair: PairRef | None = None
    ) -> TradePage:
        """The user's trades, newest first, one page at a time (a page past the last is empty)."""
        size = max(1, min(per_page, MAX_PAGE))
        number = parse_whole(page, 1, 10**6, f"The page must be a whole number, 1 or more (got {shown(page)}).")
        async with self.ctx.session(telegram_id) as (session, user):
            symbol = (await find_pair(session, user, pair)).symbol if pair is not None else None
            trades = TradeRepository(session)
            total = await trades.count_for_user(user.id, symbol)
            rows = await trades.page_for_user(user.id, (number - 1) * size, size, symbol)
            return TradePage(tuple(TradeView.of(row) for row in rows), number, max(1, -(-total // size)), total)

    async def balance(self, telegram_id: int) -> BalanceReport:
        ctx = self.ctx
        async with ctx.session(telegram_id) as (session, user):
            account = await AccountRepository(session).active(user.id)
            if account is None:
                raise NoAccount()
            funds = await source(ctx, session, account, user.mode)
            allotted: dict[str, Decimal] = {}
            for pair in await live_pairs(session, user):
                quote = quote_of(pair.symbol)
                allotted[quote] = allotted.get(quote, Decimal(0)) + pair.budget
            state = await UserStateRepository(session).get(user.id)
            view = AccountView.of(account)
        balance = await read(ctx, funds)
        lines = tuple(
            CurrencyLine(c.currency, c.free, c.used, c.total)
            for c in sorted(balance.currencies.values(), key=lambda c: c.currency)
            if c.total != 0
        )
        zero = Decimal(0)
        return BalanceReport(
            view, lines, tuple(sorted(allotted.items())), state.equity if state else zero,
            state.unrealized_pnl if state else zero, state.realized_pnl if state else zero,
        )  # fmt: skip

    async def decisions(self, telegram_id: int, pair: PairRef) -> DecisionReport:
        """The last cycle's consensus on the pair, with each analyst's vote in it."""
        async with self.ctx.session(telegram_id) as (session, user):
            found = await find_pair(session, user, pair)
            repository = DecisionRepository(session)
            latest = await repository.recent_decisions(user.id, found.symbol, limit=1)
            if not latest:
                raise NoDecisions(f"No decisions on {found.symbol} yet: the first comes with the pair's next cycle.")
            decision = latest[0]
            votes = await repository.votes(user.id, decision.id)
            candle = next((vote.candle_ts for vote in votes if vote.candle_ts is not None), None)
            return DecisionReport(
                found.symbol, ms_to_datetime(candle) if candle is not None else None, decision.action,
                decision.confidence, decision.consensus_reason, decision.outcome, decision.reason_message,
                tuple(VoteView.of(vote) for vote in votes),
            )  # fmt: skip


def _cycle(pair: UserPair) -> datetime | None:
    return ms_to_datetime(pair.last_candle_ts) if pair.last_candle_ts is not None else None

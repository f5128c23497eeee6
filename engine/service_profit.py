"""/profit and /top: performance from the books, through engine/metrics.py (its conventions: UTC-daily returns,
365 periods a year, risk-free rate 0).

- Total: the account's recorded equity curve (one snapshot per cycle) and its closed trades, from the account's
  starting balance (a paper account's, else the first snapshot).
- Per pair: the pair's realized curve, its budget plus the running sum of its trades' net P&L at each close:
  a pair has no equity of its own (margin and P&L belong to the account), but its budget is what it risks.
- Leaderboard: users who opted in, by P&L % of their account, names only; recomputed at most once a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TradeRow
from db.repositories import AccountRepository, PairRepository, ReportRepository, TradeRepository, UserRepository
from engine.metrics import ClosedTrade, PortfolioMetrics, compute_metrics
from engine.service_balance import PAPER_CURRENCY
from engine.service_context import ServiceContext
from engine.service_errors import NoAccount
from engine.service_pairs import quote_of
from engine.service_prefs import on_leaderboard

Curve = tuple[tuple[datetime, Decimal], ...]


@dataclass(frozen=True, slots=True)
class PairProfit:
    symbol: str
    budget: Decimal
    net_pnl: Decimal  # the sum of its closed trades' net P&L (fees included)
    metrics: PortfolioMetrics  # over the pair's realized curve, from its budget


@dataclass(frozen=True, slots=True)
class ProfitReport:
    currency: str
    starting_balance: Decimal
    total: PortfolioMetrics
    pairs: tuple[PairProfit, ...]
    curve: Curve  # the account's equity curve, oldest first: what the chart draws


@dataclass(frozen=True, slots=True)
class LeaderEntry:
    rank: int
    name: str
    pnl_fraction: Decimal  # (equity - starting balance) / starting balance
    you: bool


@dataclass(frozen=True, slots=True)
class Leaderboard:
    entries: tuple[LeaderEntry, ...]
    you_opted_in: bool


class ProfitCalls:
    def __init__(self, ctx: ServiceContext, leaderboard_ttl_s: float = 60.0) -> None:
        self.ctx = ctx
        self._ttl_ms = int(leaderboard_ttl_s * 1000)
        self._standings: tuple[int, list[tuple[int, str, Decimal]]] | None = None  # (computed at, rows)

    async def profit(self, telegram_id: int) -> ProfitReport:
        async with self.ctx.session(telegram_id) as (session, user):
            account = await AccountRepository(session).active(user.id)
            if account is None:
                raise NoAccount()
            curve = _one_per_time(await ReportRepository(session).equity_curve(user.id, account.id))
            pairs = {pair.id: pair for pair in await PairRepository(session).list_for_user(user.id)}
            mine = {pid for pid, pair in pairs.items() if pair.account_id == account.id}
            trades = [t for t in await TradeRepository(session).closed_for_user(user.id) if t.pair_id in mine]
            start = account.paper_start_balance if account.is_paper else None
            if start is None:
                start = curve[0][1] if curve else Decimal(0)
            total = compute_metrics(curve, start, [_closed(t) for t in trades])
            per_pair = []
            for pid in sorted(mine, key=lambda p: pairs[p].symbol):
                pair = pairs[pid]
                own = [t for t in trades if t.pair_id == pid]
                if pair.status == "stopped" and not own:
                    continue
                per_pair.append(_pair_profit(pair.symbol, pair.budget, own))
            currency = quote_of(next(iter(pairs.values())).symbol) if pairs else PAPER_CURRENCY
            return ProfitReport(currency, start, total, tuple(per_pair), curve)

    async def leaderboard(self, telegram_id: int, limit: int = 10) -> Leaderboard:
        async with self.ctx.session(telegram_id) as (session, user):
            me, opted_in = user.id, on_leaderboard(user.settings)
            rows = await self._rows(session, me, opted_in)
        entries = tuple(
            LeaderEntry(rank, name, fraction, uid == me)
            for rank, (uid, name, fraction) in enumerate(rows[: max(1, limit)], start=1)
        )
        return Leaderboard(entries, opted_in)

    async def _rows(self, session: AsyncSession, me: int, opted_in: bool) -> list[tuple[int, str, Decimal]]:
        """The cached standings, recomputed after the TTL or when they disagree with the caller's own choice (who
        has just joined or left sees it at once)."""
        now = self.ctx.now_ms()
        cached = self._standings
        if cached is not None and now - cached[0] < self._ttl_ms:
            if any(uid == me for uid, _, _ in cached[1]) == opted_in:
                return cached[1]
        rows = []
        for user, state, account in await UserRepository(session).standings():
            if not on_leaderboard(user.settings) or user.status == "blocked" or state is None or account is None:
                continue
            start = account.paper_start_balance
            if start is None:
                curve = await ReportRepository(session).equity_curve(user.id, account.id)
                start = curve[0][1] if curve else None
            if not start or start <= 0:
                continue
            name = user.display_name or user.username or "Anonymous trader"
            rows.append((user.id, name, (state.equity - start) / start))
        rows.sort(key=lambda row: (-row[2], row[1]))
        self._standings = (now, rows)
        return rows


def _one_per_time(points: list[tuple[datetime, Decimal]]) -> Curve:
    """Each of the user's engines records the account's equity; at one moment the last record stands."""
    latest: dict[datetime, Decimal] = {}
    for at, equity in points:
        latest[at] = equity
    return tuple(sorted(latest.items()))


def _closed(row: TradeRow) -> ClosedTrade:
    assert row.realized_pnl is not None and row.closed_at is not None
    return ClosedTrade(row.realized_pnl, row.opened_at, row.closed_at)


def _pair_profit(symbol: str, budget: Decimal, trades: list[TradeRow]) -> PairProfit:
    running, curve = budget, []
    for trade in trades:
        assert trade.realized_pnl is not None and trade.closed_at is not None
        running += trade.realized_pnl
        curve.append((trade.closed_at, running))
    return PairProfit(symbol, budget, running - budget, compute_metrics(curve, budget, [_closed(t) for t in trades]))

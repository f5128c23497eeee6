"""The demo's closing report: each person's figures as the service reads them from the books the engine wrote
(the account's status and /profit's metrics), and the equity chart /profit sent them. It formats; it computes
nothing of its own, so the report says what /status and /profit say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from engine.formatting import percent, price, signed, when
from engine.metrics import PortfolioMetrics
from engine.service import QuorumService
from quorum.demo_chat import DemoChat


@dataclass(frozen=True, slots=True)
class UserReport:
    name: str
    telegram_id: int
    currency: str
    starting_balance: Decimal
    equity: Decimal
    balance: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    open_positions: int
    metrics: PortfolioMetrics  # /profit's: over the account's equity curve and closed trades
    breaker_trips: int  # breaker alerts received
    resumed: int  # breakers reset by pressing Resume
    open_until: datetime | None  # a breaker still open at the end: when it reopens on its own
    chart: Path | None  # /profit's equity chart, as saved

    @classmethod
    async def of(cls, service: QuorumService, chat: DemoChat) -> UserReport:
        tid = chat.user.telegram_id
        status = await service.reports.status(tid)
        profit = await service.profit.profit(tid)
        open_now = [pair.breaker for pair in status.pairs if pair.breaker is not None] + (
            [status.daily_breaker] if status.daily_breaker is not None else []
        )
        return cls(
            name=chat.user.name, telegram_id=tid, currency=profit.currency,
            starting_balance=profit.starting_balance, equity=status.equity, balance=status.balance,
            realized_pnl=status.realized_pnl, unrealized_pnl=status.unrealized_pnl,
            open_positions=sum(1 for pair in status.pairs if pair.position is not None), metrics=profit.total,
            breaker_trips=chat.trips, resumed=chat.resumed,
            open_until=max((view.reopens_at for view in open_now), default=None), chart=chat.saved.get("profit"),
        )  # fmt: skip

    def lines(self) -> list[str]:
        m, quote = self.metrics, self.currency
        ret = "n/a" if m.total_return is None else percent(m.total_return, signed_=True)
        win_rate = "n/a" if m.win_rate is None else percent(m.win_rate)
        sharpe = "n/a" if m.sharpe is None else f"{m.sharpe:.2f}"
        breaker = f"tripped {self.breaker_trips}x, reset with /resume {self.resumed}x"
        if self.open_until is not None:
            breaker += f"; open, reopens on its own at {when(self.open_until)} UTC"
        opened = f"{self.open_positions} position{'' if self.open_positions == 1 else 's'} open"
        return [
            f"{self.name} (Telegram id {self.telegram_id}), paper account of {price(self.starting_balance)} {quote}",
            f"  equity:        {price(self.equity)} {quote} (return {ret})",
            f"  balance:       {price(self.balance)} {quote}; realized {signed(self.realized_pnl)} {quote}, "
            f"unrealized {signed(self.unrealized_pnl)} {quote} ({opened})",
            f"  trades:        {m.trades} closed, {m.wins} won, {m.losses} lost (win rate {win_rate})",
            f"  max drawdown:  {percent(m.max_drawdown)}; Sharpe {sharpe} (daily returns, annualised)",
            f"  breaker:       {breaker}",
            f"  equity chart:  {self.chart if self.chart is not None else 'none (no cycle recorded)'}",
        ]

"""What the demo prints at the end, read off the engine: its closed trades, equity curve and state, the metrics
computed from them, and what the engine told its store and its notifier. Nothing here trades or re-derives a
trade; it counts and formats, so the same run always prints the same text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from db.database import Database
from domain.money import ms_to_datetime
from engine.events import EngineEvent, EventKind
from engine.formatting import percent, price, signed, when
from engine.metrics import ClosedTrade as MetricTrade
from engine.metrics import PortfolioMetrics, compute_metrics
from engine.notifier import Notifier
from engine.pair_engine import PairEngine
from engine.records import ClosedTrade, DecisionRecord
from engine.store_db import DbEngineStore

ACTIONS = ("BUY", "SELL", "CLOSE", "HOLD")
SHOWN_WITH_VERBOSE = ("rejected", "skipped")


class DemoStore(DbEngineStore):
    """The engine's database store, also counting the decisions it records (and, with --verbose, printing the
    ones the risk manager or the engine turned down)."""

    def __init__(self, database: Database, show: Callable[[str], None] | None = None) -> None:
        super().__init__(database)
        self.actions: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._show = show

    async def record_decision(self, user_id: int, symbol: str, record: DecisionRecord) -> None:
        await super().record_decision(user_id, symbol, record)
        self.actions[record.action] += 1
        self.outcomes[record.outcome] += 1
        if self._show is not None and record.outcome in SHOWN_WITH_VERBOSE:
            self._show(
                f"{when(record.candle_ts)} {symbol} {record.action} {record.outcome} ({record.reason_code}): "
                f"{record.reason_message}"
            )


class CountingNotifier:
    """Passes every event on and counts them by kind (the summary's breaker trips)."""

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner
        self.kinds: Counter[EventKind] = Counter()

    async def notify(self, event: EngineEvent) -> None:
        self.kinds[event.kind] += 1
        await self.inner.notify(event)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """The figures of one demo run; equal arguments give equal summaries."""

    symbol: str
    quote: str
    start_ms: int
    end_ms: int
    cycle_hours: int
    starting_balance: Decimal
    cycles: int
    decisions: Counter[str]  # consensus action -> count
    outcomes: Counter[str]  # executed / rejected / hold / skipped / error -> count
    trades: tuple[ClosedTrade, ...]
    breaker_trips: int
    final_equity: Decimal
    metrics: PortfolioMetrics
    database_url: str = field(default="", compare=False)  # where the rows are (password hidden)
    user_id: int = field(default=0, compare=False)  # the demo user in that database

    @classmethod
    def of(
        cls,
        engine: PairEngine,
        store: DemoStore,
        notifier: CountingNotifier,
        *,
        start_ms: int,
        end_ms: int,
        cycle_hours: int,
        starting_balance: Decimal,
    ) -> DemoSummary:
        curve = [(ms_to_datetime(point.ts), point.equity) for point in engine.equity_curve]
        trades = tuple(engine.closed_trades)
        metrics = compute_metrics(
            curve,
            starting_balance,
            [MetricTrade(t.pnl, ms_to_datetime(t.opened_ms), ms_to_datetime(t.closed_ms)) for t in trades],
        )
        return cls(
            symbol=engine.symbol,
            quote=engine.market.quote,
            start_ms=start_ms,
            end_ms=end_ms,
            cycle_hours=cycle_hours,
            starting_balance=starting_balance,
            cycles=engine.state.cycles,
            decisions=Counter(store.actions),
            outcomes=Counter(store.outcomes),
            trades=trades,
            breaker_trips=notifier.kinds[EventKind.BREAKER_TRIPPED],
            final_equity=metrics.end_equity,
            metrics=metrics,
        )

    @property
    def realized_pnl(self) -> Decimal:
        return sum((trade.pnl for trade in self.trades), Decimal(0))

    @property
    def fees(self) -> Decimal:
        return sum((trade.fees for trade in self.trades), Decimal(0))

    def lines(self) -> list[str]:
        m, quote = self.metrics, self.quote
        days = (self.end_ms - self.start_ms) // 86_400_000
        actions = ", ".join(f"{action} {self.decisions[action]}" for action in ACTIONS)
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        win_rate = "n/a" if m.win_rate is None else percent(m.win_rate)
        ret = "n/a" if m.total_return is None else percent(m.total_return, signed_=True)
        sharpe = "n/a" if m.sharpe is None else f"{m.sharpe:.2f}"
        return [
            "",
            f"Summary: {self.symbol}, {when(self.start_ms)} to {when(self.end_ms)} UTC"
            f" ({days} day{'' if days == 1 else 's'})",
            f"  cycles:          {self.cycles} (a decision every {self.cycle_hours}h)",
            f"  decisions:       {actions} ({outcomes or 'none'})",
            f"  trades:          {m.trades} closed, {m.wins} won, {m.losses} lost (win rate {win_rate})",
            f"  realized P&L:    {signed(self.realized_pnl)} {quote} (fees {price(self.fees)} {quote} included)",
            f"  final equity:    {price(self.final_equity)} {quote} from {price(self.starting_balance)} {quote}"
            f" (return {ret})",
            f"  max drawdown:    {percent(m.max_drawdown)}",
            f"  Sharpe:          {sharpe} (daily returns, annualised)",
            f"  breaker trips:   {self.breaker_trips}",
        ]

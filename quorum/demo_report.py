"""How the offline demo reads: short alert lines, the running statistics and the final summary.

Everything here is pure formatting and arithmetic on Decimals, so the same run always prints the same text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from domain.money import ms_to_datetime
from risk import BreakerEvent, BreakerEventKind, TripReason

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CENT = Decimal("0.01")


def when(moment: int | datetime) -> str:
    """'09 Mar 2018 16:00' (UTC); independent of the locale."""
    moment = ms_to_datetime(moment) if isinstance(moment, int) else moment
    return f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} {moment.hour:02d}:{moment.minute:02d}"


def price(value: Decimal) -> str:
    """9,250.10"""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"


def amount(value: Decimal) -> str:
    """A base amount without exponent or trailing zeros: 0.031"""
    return f"{value.normalize():f}"


def _cents(value: Decimal) -> Decimal:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded == 0 else rounded  # never "-0.00"


def signed(value: Decimal) -> str:
    """+12.40 / -3.10"""
    rounded = _cents(value)
    return f"{'+' if rounded >= 0 else ''}{rounded:,.2f}"


def percent(fraction: Decimal, signed_: bool = False) -> str:
    value = _cents(fraction * 100)
    return f"{'+' if signed_ and value >= 0 else ''}{value:.2f}%"


def breaker_line(event: BreakerEvent, losses: int, reopens_at: datetime | None) -> str:
    """One alert line for a breaker transition."""
    resume = f"; new entries resume at {when(reopens_at)} UTC" if reopens_at is not None else ""
    if event.kind is BreakerEventKind.TRIPPED:
        if event.reason is TripReason.LOSS_STREAK:
            return f"{when(event.at)} circuit breaker tripped: {losses} losing trades in a row{resume}"
        return f"{when(event.at)} daily loss limit hit: no new entries on any pair{resume}"
    what = "circuit breaker" if event.reason is TripReason.LOSS_STREAK else "daily loss limit"
    how = "cooldown over" if event.kind is BreakerEventKind.COOLDOWN_EXPIRED else "reset"
    return f"{when(event.at)} {what} {how}: new entries allowed again"


@dataclass
class EquityCurve:
    """Mark-to-market equity sampled every simulated hour: peak and maximum drawdown."""

    start: Decimal
    peak: Decimal = Decimal(0)
    last: Decimal = Decimal(0)
    max_drawdown: Decimal = Decimal(0)  # a fraction of the peak

    def __post_init__(self) -> None:
        self.peak = self.last = self.start

    def observe(self, equity: Decimal) -> None:
        self.last = equity
        if equity > self.peak:
            self.peak = equity
        elif self.peak > 0:
            self.max_drawdown = max(self.max_drawdown, (self.peak - equity) / self.peak)


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip as the demo reports it; pnl is what the paper balance moved, fees included."""

    side: str  # long | short
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    reason: str  # signal | stop_loss | take_profit | liquidation | end_of_demo
    opened_ms: int
    closed_ms: int


REASON_WORDS = {
    "signal": "analysts' exit signal",
    "stop_loss": "stop loss",
    "take_profit": "take profit",
    "liquidation": "liquidated",
    "end_of_demo": "end of the demo",
}


def closed_line(symbol: str, trade: ClosedTrade, quote: str) -> str:
    return (
        f"{when(trade.closed_ms)} {symbol} closed {trade.side.upper()} {amount(trade.amount)} @ "
        f"{price(trade.exit_price)} {signed(trade.pnl)} {quote} ({REASON_WORDS.get(trade.reason, trade.reason)})"
    )


@dataclass
class DemoSummary:
    """The figures of one demo run; equal arguments give equal summaries."""

    symbol: str
    quote: str
    start_ms: int
    end_ms: int
    cycle_hours: int
    starting_balance: Decimal
    cycles: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # consensus action -> count
    outcomes: Counter[str] = field(default_factory=Counter)  # executed / rejected / hold / skipped / error
    trades: list[ClosedTrade] = field(default_factory=list)
    breaker_trips: int = 0
    final_equity: Decimal = Decimal(0)
    max_drawdown: Decimal = Decimal(0)
    database_url: str = field(default="", compare=False)  # where the rows are (password hidden)
    user_id: int = field(default=0, compare=False)  # the demo user in that database

    @property
    def wins(self) -> int:
        return sum(1 for trade in self.trades if trade.pnl > 0)

    @property
    def losses(self) -> int:
        return sum(1 for trade in self.trades if trade.pnl < 0)

    @property
    def win_rate(self) -> Decimal:
        return Decimal(self.wins) / Decimal(len(self.trades)) if self.trades else Decimal(0)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((trade.pnl for trade in self.trades), Decimal(0))

    @property
    def fees(self) -> Decimal:
        return sum((trade.fees for trade in self.trades), Decimal(0))

    @property
    def return_fraction(self) -> Decimal:
        return (self.final_equity - self.starting_balance) / self.starting_balance

    def lines(self) -> list[str]:
        days = (self.end_ms - self.start_ms) // 86_400_000
        actions = ", ".join(f"{action} {self.decisions[action]}" for action in ("BUY", "SELL", "CLOSE", "HOLD"))
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        quote = self.quote
        return [
            "",
            f"Summary: {self.symbol}, {when(self.start_ms)} to {when(self.end_ms)} UTC"
            f" ({days} day{'' if days == 1 else 's'})",
            f"  cycles:          {self.cycles} (a decision every {self.cycle_hours}h)",
            f"  decisions:       {actions} ({outcomes or 'none'})",
            f"  trades:          {len(self.trades)} closed, {self.wins} won, {self.losses} lost"
            f" (win rate {percent(self.win_rate)})",
            f"  realized P&L:    {signed(self.realized_pnl)} {quote} (fees {price(self.fees)} {quote} included)",
            f"  final equity:    {price(self.final_equity)} {quote} from {price(self.starting_balance)} {quote}"
            f" (return {percent(self.return_fraction, signed_=True)})",
            f"  max drawdown:    {percent(self.max_drawdown)}",
            f"  breaker trips:   {self.breaker_trips}",
        ]

"""What the engine tells the risk manager about the market, the account and the pair.

Plain frozen dataclasses with Decimal money; numbers given as int or str are converted on construction so a
float never reaches the arithmetic unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domain.fast_init import fast_init
from domain.money import to_decimal
from domain.trading import PositionSide


def _decimals(instance: object, *names: str) -> None:
    for name in names:
        value = getattr(instance, name)
        if value is not None and value.__class__ is not Decimal:  # a Decimal is kept as it is (to_decimal)
            try:
                object.__setattr__(instance, name, to_decimal(value))
            except ValueError as exc:
                raise ValueError(f"{type(instance).__name__}.{name}: {exc}") from None


def _non_negative(instance: object, *names: str) -> None:
    for name in names:
        value = getattr(instance, name)
        if value is not None and value < 0:
            raise ValueError(f"{type(instance).__name__}.{name} must not be negative (got {value})")


def ensure_utc(moment: datetime, name: str = "now") -> datetime:
    """Times are passed in, never read from a clock here; a naive one is refused rather than guessed."""
    if moment.__class__ is datetime and moment.tzinfo is UTC:
        return moment  # what astimezone(UTC) returns for it
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime (got {type(moment).__name__})")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass a timezone-aware UTC time")
    return moment.astimezone(UTC)


@fast_init
@dataclass(frozen=True, slots=True)
class MarketConditions:
    """The market right now. price is where an entry would fill (last trade or the touch).

    spread_fraction is (ask - bid) / mid, None when unknown (candle-only replays); atr_fraction is ATR / price on
    the engine's decision timeframe; quote_volume is the 24h volume in the quote currency.
    """

    price: Decimal
    atr_fraction: Decimal
    quote_volume: Decimal
    spread_fraction: Decimal | None = None

    def __post_init__(self) -> None:
        price, atr, volume, spread = self.price, self.atr_fraction, self.quote_volume, self.spread_fraction
        if not (  # the engine's every cycle: four Decimals, none negative; else converted and checked by name
            price.__class__ is Decimal
            and atr.__class__ is Decimal
            and volume.__class__ is Decimal
            and (spread is None or spread.__class__ is Decimal)
            and atr >= 0
            and volume >= 0
            and (spread is None or spread >= 0)
        ):
            _decimals(self, "price", "atr_fraction", "quote_volume", "spread_fraction")
            _non_negative(self, "atr_fraction", "quote_volume", "spread_fraction")


@fast_init
@dataclass(frozen=True, slots=True)
class AccountState:
    """The user's account as the engine last saw it (quote currency).

    realized_pnl_today counts trades closed since 00:00 UTC; unrealized_pnl is the open positions' P&L.
    trades_today counts entries since 00:00 UTC; open_positions counts the user's open positions on all pairs.
    peak_equity is the high-water mark the drawdown is measured from.
    """

    equity: Decimal
    peak_equity: Decimal
    day_start_equity: Decimal
    realized_pnl_today: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    trades_today: int = 0
    open_positions: int = 0

    def __post_init__(self) -> None:
        if not (  # the engine's: five Decimals and two counts; else converted and checked by name
            self.equity.__class__ is Decimal
            and self.peak_equity.__class__ is Decimal
            and self.day_start_equity.__class__ is Decimal
            and self.realized_pnl_today.__class__ is Decimal
            and self.unrealized_pnl.__class__ is Decimal
            and self.trades_today.__class__ is int
            and self.open_positions.__class__ is int
            and self.trades_today >= 0
            and self.open_positions >= 0
        ):
            _decimals(self, "equity", "peak_equity", "day_start_equity", "realized_pnl_today", "unrealized_pnl")
            _non_negative(self, "trades_today", "open_positions")

    @property
    def daily_pnl(self) -> Decimal:
        """Net P&L of the UTC day: realized plus unrealized."""
        return self.realized_pnl_today + self.unrealized_pnl

    @property
    def drawdown_fraction(self) -> Decimal:
        """How far equity sits below its peak, 0 when at or above it."""
        if self.peak_equity <= 0 or self.equity >= self.peak_equity:
            return Decimal(0)
        return (self.peak_equity - self.equity) / self.peak_equity


@fast_init
@dataclass(frozen=True, slots=True)
class PairContext:
    """The user's pair: budget in the quote currency, chosen leverage, and the open position (amount >= 0)."""

    budget: Decimal
    leverage: int = 1
    position_side: PositionSide = PositionSide.FLAT
    position_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _decimals(self, "budget", "position_amount")
        object.__setattr__(self, "position_side", PositionSide(self.position_side))
        _non_negative(self, "budget", "position_amount")
        if isinstance(self.leverage, bool) or not isinstance(self.leverage, int) or self.leverage < 1:
            raise ValueError(f"PairContext.leverage must be a whole number of at least 1 (got {self.leverage!r})")
        if (self.position_side is PositionSide.FLAT) != (self.position_amount == 0):
            raise ValueError(
                f"PairContext position_side {self.position_side.value} does not match "
                f"position_amount {self.position_amount}"
            )

    @property
    def has_position(self) -> bool:
        return self.position_side is not PositionSide.FLAT

"""Ready-made inputs for risk tests: a sane market, account and decision that pass every rule by default."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.decision import Action, Decision
from domain.market import MarketInfo, MarketType
from domain.trading import PositionSide
from risk import AccountState, DailyLossState, LossStreakState, MarketConditions, PairContext, RiskLimits

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
D = Decimal


def market(**changes: object) -> MarketInfo:
    values: dict[str, object] = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "type": MarketType.PERPETUAL,
        "amount_step": D("0.001"),
        "price_step": D("0.1"),
        "min_amount": D("0.001"),
        "min_notional": D("5"),
        "max_leverage": 20,
        "taker_fee": D("0.0005"),
    }
    values.update(changes)
    return MarketInfo(**values)  # type: ignore[arg-type]


def spot_market(**changes: object) -> MarketInfo:
    return market(type=MarketType.SPOT, max_leverage=1, **changes)


def conditions(**changes: object) -> MarketConditions:
    values: dict[str, object] = {
        "price": D("40000"),
        "atr_fraction": D("0.01"),
        "quote_volume": D("1000000000"),
        "spread_fraction": D("0.0002"),
    }
    values.update(changes)
    return MarketConditions(**values)  # type: ignore[arg-type]


def account(**changes: object) -> AccountState:
    values: dict[str, object] = {
        "equity": D("10000"),
        "peak_equity": D("10000"),
        "day_start_equity": D("10000"),
    }
    values.update(changes)
    return AccountState(**values)  # type: ignore[arg-type]


def pair(**changes: object) -> PairContext:
    values: dict[str, object] = {"budget": D("2000"), "leverage": 3}
    values.update(changes)
    return PairContext(**values)  # type: ignore[arg-type]


def long_pair(amount: str = "0.05") -> PairContext:
    return pair(position_side=PositionSide.LONG, position_amount=D(amount))


def short_pair(amount: str = "0.05") -> PairContext:
    return pair(position_side=PositionSide.SHORT, position_amount=D(amount))


def buy(confidence: str = "0.8", stop: str | None = "39000", target: str | None = "42000") -> Decision:
    return Decision(Action.BUY, D(confidence), None if stop is None else D(stop), None if target is None else D(target))


def sell(confidence: str = "0.8", stop: str | None = "41000", target: str | None = "38000") -> Decision:
    return Decision(
        Action.SELL, D(confidence), None if stop is None else D(stop), None if target is None else D(target)
    )


def limits(**overrides: object) -> RiskLimits:
    return RiskLimits().with_overrides(overrides) if overrides else RiskLimits()


def fresh_breakers() -> tuple[LossStreakState, DailyLossState]:
    return LossStreakState(), DailyLossState()

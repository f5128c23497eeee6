"""Every number the risk manager enforces, with global defaults and per-user / per-pair overrides.

Override keys are the field names below, which are also the names of the matching Settings fields, so an
operator's env var and a user's `/settings` key read the same. Values arrive as text or JSON numbers and are
validated here, so a bad override is refused with a sentence instead of reaching a trade.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.money import to_decimal


class RiskConfigError(ValueError):
    """A limit or an override is unknown or out of range; str(error) is the sentence for the user."""


class OverrideScope(StrEnum):
    USER = "user"
    PAIR = "pair"


@dataclass(frozen=True, slots=True)
class Bound:
    """Allowed range of one limit; open ends exclude the end value."""

    low: Decimal
    high: Decimal
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: Decimal) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        low = f"greater than {self.low}" if self.low_open else f"at least {self.low}"
        high = f"less than {self.high}" if self.high_open else f"at most {self.high}"
        return f"{low} and {high}"


def _limit(default: Any, bound: Bound, meaning: str, *, user_wide: bool = False) -> Any:
    return field(default=default, metadata={"bound": bound, "meaning": meaning, "user_wide": user_wide})


def _b(low: str, high: str, *, low_open: bool = False, high_open: bool = False) -> Bound:
    return Bound(Decimal(low), Decimal(high), low_open, high_open)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """All risk numbers. Fractions are plain fractions (0.05 means 5%). Invalid values raise RiskConfigError."""

    risk_per_trade: Decimal = _limit(
        Decimal("0.01"), _b("0", "0.1", low_open=True), "fraction of equity lost if a trade hits its stop"
    )
    max_leverage: int = _limit(5, _b("1", "125"), "highest leverage used on perpetuals")
    max_position_fraction: Decimal = _limit(
        Decimal("1"), _b("0", "1", low_open=True), "largest margin of one position as a fraction of equity"
    )
    breaker_max_consecutive_losses: int = _limit(3, _b("1", "100"), "losing trades in a row that trip the breaker")
    breaker_daily_loss_pct: Decimal = _limit(
        Decimal("0.05"),
        _b("0", "1", low_open=True, high_open=True),
        "daily loss, as a fraction of the day's starting equity, that trips the breaker",
        user_wide=True,
    )
    breaker_cooldown_minutes: int = _limit(
        240, _b("1", "10080"), "minutes the breaker stays open before it resets itself", user_wide=True
    )
    max_spread_fraction: Decimal = _limit(
        Decimal("0.005"), _b("0", "0.5", low_open=True), "widest bid/ask spread, as a fraction of the mid price"
    )
    min_atr_fraction: Decimal = _limit(
        Decimal("0.0005"), _b("0", "1", high_open=True), "lowest volatility (ATR / price) worth trading"
    )
    max_atr_fraction: Decimal = _limit(
        Decimal("0.10"), _b("0", "1", low_open=True), "highest volatility (ATR / price) the bot will trade"
    )
    min_quote_volume: Decimal = _limit(
        Decimal("50000"), _b("0", "1000000000000000"), "lowest 24h volume, in the quote currency"
    )
    max_drawdown_fraction: Decimal = _limit(
        Decimal("0.20"), _b("0", "1", low_open=True), "drop from peak equity that pauses the pair"
    )
    min_reward_risk: Decimal = _limit(Decimal("1.5"), _b("0", "100"), "lowest take-profit distance over stop distance")
    min_stop_fraction: Decimal = _limit(
        Decimal("0.001"), _b("0", "0.5"), "closest stop loss, as a fraction of the entry price"
    )
    max_stop_fraction: Decimal = _limit(
        Decimal("0.15"), _b("0", "0.9", low_open=True), "farthest stop loss, as a fraction of the entry price"
    )
    min_confidence: Decimal = _limit(Decimal("0.6"), _b("0", "1"), "lowest ensemble confidence acted upon")
    max_trades_per_day: int = _limit(10, _b("1", "1000"), "entries allowed per UTC day", user_wide=True)
    max_open_positions: int = _limit(5, _b("1", "1000"), "positions open at once per user", user_wide=True)

    def __post_init__(self) -> None:
        errors: list[str] = []
        for spec in dataclasses.fields(self):
            try:
                object.__setattr__(self, spec.name, _coerce(spec, getattr(self, spec.name)))
            except RiskConfigError as exc:
                errors.append(str(exc))
        if not errors:
            errors.extend(self._cross_field_errors())
        if errors:
            raise RiskConfigError("; ".join(errors))

    def _cross_field_errors(self) -> list[str]:
        errors = []
        if self.min_atr_fraction >= self.max_atr_fraction:
            errors.append(
                f"min_atr_fraction ({self.min_atr_fraction}) must be below max_atr_fraction ({self.max_atr_fraction})"
            )
        if self.min_stop_fraction >= self.max_stop_fraction:
            errors.append(
                f"min_stop_fraction ({self.min_stop_fraction}) must be below "
                f"max_stop_fraction ({self.max_stop_fraction})"
            )
        return errors

    @classmethod
    def from_settings(cls, settings: object) -> RiskLimits:
        """Global defaults from the Settings object: every attribute named like a limit is used."""
        values = {
            spec.name: getattr(settings, spec.name) for spec in dataclasses.fields(cls) if hasattr(settings, spec.name)
        }
        return cls(**values)

    def with_overrides(
        self, overrides: Mapping[str, object] | None, scope: OverrideScope = OverrideScope.USER
    ) -> RiskLimits:
        """These limits with overrides applied; keys of user-wide limits are refused at pair scope."""
        if not overrides:
            return self
        return dataclasses.replace(self, **self._parse(overrides, scope))

    def resolve(
        self, user_overrides: Mapping[str, object] | None, pair_overrides: Mapping[str, object] | None
    ) -> RiskLimits:
        """The limits one pair trades under: global, then the user's overrides, then the pair's."""
        return self.with_overrides(user_overrides, OverrideScope.USER).with_overrides(
            pair_overrides, OverrideScope.PAIR
        )

    def normalize_overrides(
        self, overrides: Mapping[str, object], scope: OverrideScope = OverrideScope.USER
    ) -> dict[str, str | int]:
        """Validate overrides against these limits and return them JSON-safe (Decimals as strings) for storage."""
        parsed = self._parse(overrides, scope)
        dataclasses.replace(self, **parsed)
        return {key: value if isinstance(value, int) else str(value) for key, value in parsed.items()}

    def to_dict(self) -> dict[str, str | int]:
        """JSON-safe view: Decimals as strings, integers as integers."""
        return {
            spec.name: value if isinstance(value := getattr(self, spec.name), int) else str(value)
            for spec in dataclasses.fields(self)
        }

    @staticmethod
    def describe(name: str) -> str:
        """One line for `/settings`: what the limit means and its allowed range."""
        spec = _FIELDS.get(name)
        if spec is None:
            raise RiskConfigError(_unknown_key_message(name))
        return f"{name}: {spec.metadata['meaning']} ({spec.metadata['bound'].describe()})"

    def _parse(self, overrides: Mapping[str, object], scope: OverrideScope) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        errors: list[str] = []
        for key, raw in overrides.items():
            spec = _FIELDS.get(key) if isinstance(key, str) else None
            if spec is None:
                errors.append(_unknown_key_message(key))
            elif scope is OverrideScope.PAIR and spec.metadata["user_wide"]:
                errors.append(f"{key} applies to all of a user's pairs and cannot be set for one pair")
            else:
                try:
                    parsed[key] = _coerce(spec, raw)
                except RiskConfigError as exc:
                    errors.append(str(exc))
        if errors:
            raise RiskConfigError("; ".join(errors))
        return parsed


_FIELDS: dict[str, dataclasses.Field[Any]] = {spec.name: spec for spec in dataclasses.fields(RiskLimits)}

USER_WIDE_LIMITS: frozenset[str] = frozenset(name for name, spec in _FIELDS.items() if spec.metadata["user_wide"])


def _unknown_key_message(key: object) -> str:
    return f"unknown risk setting {key!r}; known settings: {', '.join(_FIELDS)}"


def _coerce(spec: dataclasses.Field[Any], raw: object) -> int | Decimal:
    """Turn text, ints, floats or Decimals into the field's type, then check its range."""
    bound: Bound = spec.metadata["bound"]
    value = _to_number(spec.name, raw, allow_percent=bound.high <= 1)
    if spec.type in ("int", int):
        if value != value.to_integral_value():
            raise RiskConfigError(f"{spec.name} must be a whole number (got {raw!r})")
        value = value.to_integral_value()
    if not bound.contains(value):
        raise RiskConfigError(f"{spec.name} must be {bound.describe()} (got {raw})")
    return int(value) if spec.type in ("int", int) else value


def _to_number(name: str, raw: object, *, allow_percent: bool) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise RiskConfigError(f"{name} must be a number (got {raw!r})")
    percent = False
    if isinstance(raw, str):
        text = raw.strip()
        if allow_percent and text.endswith("%"):
            percent, text = True, text[:-1].strip()
        raw = text
    try:
        value = to_decimal(raw)
    except ValueError:
        raise RiskConfigError(f"{name} must be a number (got {raw!r})") from None
    return value / 100 if percent else value

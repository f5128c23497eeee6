"""Circuit-breaker state and events: immutable values the engine persists and turns into alerts.

to_dict() is JSON-safe (Decimals as strings, datetimes and dates as ISO text) and from_dict(to_dict()) gives
back an equal state, so a restart that reloads the state from the database decides exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.fast_init import fast_init
from domain.money import to_decimal
from risk.inputs import ensure_utc


class BreakerStatus(StrEnum):
    RUNNING = "running"
    OPEN = "open"


class BreakerScope(StrEnum):
    PAIR = "pair"  # one (user, pair): the losing streak
    USER = "user"  # all of a user's pairs: the daily loss limit


class TripReason(StrEnum):
    LOSS_STREAK = "loss_streak"
    DAILY_LOSS_LIMIT = "daily_loss_limit"


class BreakerEventKind(StrEnum):
    TRIPPED = "tripped"
    RESUMED = "resumed"  # reset by hand (/resume or an admin)
    COOLDOWN_EXPIRED = "cooldown_expired"


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One transition, for alerts, metrics and the audit log. reason is the trip reason the event concerns."""

    kind: BreakerEventKind
    scope: BreakerScope
    reason: TripReason
    message: str
    at: datetime


@fast_init
@dataclass(frozen=True, slots=True)
class LossStreakState:
    """Per (user, pair): losing trades in a row while running; when and why it opened and when it reopens."""

    status: BreakerStatus = BreakerStatus.RUNNING
    consecutive_losses: int = 0
    tripped_at: datetime | None = None
    reopens_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BreakerStatus(self.status))
        _check_open_fields(self.status, self.tripped_at, self.reopens_at)
        if self.consecutive_losses < 0:
            raise ValueError(f"consecutive_losses must not be negative (got {self.consecutive_losses})")

    @property
    def reason(self) -> TripReason | None:
        return TripReason.LOSS_STREAK if self.status is BreakerStatus.OPEN else None

    def is_open_at(self, now: datetime) -> bool:
        """For display (/status): open and still cooling down at `now`. Decisions go through the breaker."""
        return _open_at(self.status, self.reopens_at, now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": _value(self.reason),
            "consecutive_losses": self.consecutive_losses,
            "tripped_at": _iso(self.tripped_at),
            "reopens_at": _iso(self.reopens_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LossStreakState:
        with _readable_errors(cls):
            return cls(
                status=BreakerStatus(data["status"]),
                consecutive_losses=_whole(data["consecutive_losses"]),
                tripped_at=_datetime(data["tripped_at"]),
                reopens_at=_datetime(data["reopens_at"]),
            )


@fast_init
@dataclass(frozen=True, slots=True)
class DailyLossState:
    """Per user: the daily loss limit and the baseline it is armed against.

    The limit trips when (baseline_pnl - daily P&L) reaches breaker_daily_loss_pct x baseline_equity. At the
    start of a UTC day the baseline is (0, the day's starting equity). After a reopen (resume or cooldown) the
    baseline is cleared and re-armed from the first observation of that same day: (daily P&L, equity) then.
    `day` is the UTC day the baseline belongs to; baseline_equity None means "arm at the next observation".
    """

    status: BreakerStatus = BreakerStatus.RUNNING
    day: date | None = None
    baseline_pnl: Decimal = Decimal(0)
    baseline_equity: Decimal | None = None
    tripped_at: datetime | None = None
    reopens_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BreakerStatus(self.status))
        _check_open_fields(self.status, self.tripped_at, self.reopens_at)

    @property
    def reason(self) -> TripReason | None:
        return TripReason.DAILY_LOSS_LIMIT if self.status is BreakerStatus.OPEN else None

    def is_open_at(self, now: datetime) -> bool:
        """For display (/status): open and still cooling down at `now`. Decisions go through the breaker."""
        return _open_at(self.status, self.reopens_at, now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": _value(self.reason),
            "day": self.day.isoformat() if self.day else None,
            "baseline_pnl": str(self.baseline_pnl),
            "baseline_equity": None if self.baseline_equity is None else str(self.baseline_equity),
            "tripped_at": _iso(self.tripped_at),
            "reopens_at": _iso(self.reopens_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DailyLossState:
        with _readable_errors(cls):
            return cls(
                status=BreakerStatus(data["status"]),
                day=None if data["day"] is None else date.fromisoformat(data["day"]),
                baseline_pnl=to_decimal(data["baseline_pnl"]),
                baseline_equity=None if data["baseline_equity"] is None else to_decimal(data["baseline_equity"]),
                tripped_at=_datetime(data["tripped_at"]),
                reopens_at=_datetime(data["reopens_at"]),
            )


def _check_open_fields(status: BreakerStatus, tripped_at: datetime | None, reopens_at: datetime | None) -> None:
    is_open = status is BreakerStatus.OPEN
    if is_open != (tripped_at is not None) or is_open != (reopens_at is not None):
        raise ValueError("an open breaker needs tripped_at and reopens_at; a running one has neither")


def _open_at(status: BreakerStatus, reopens_at: datetime | None, now: datetime) -> bool:
    return status is BreakerStatus.OPEN and reopens_at is not None and ensure_utc(now) < reopens_at


def _value(reason: TripReason | None) -> str | None:
    return None if reason is None else reason.value


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _datetime(text: str | None) -> datetime | None:
    return None if text is None else ensure_utc(datetime.fromisoformat(text), "stored breaker time")


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


@contextmanager
def _readable_errors(kind: type) -> Iterator[None]:
    """Turn a corrupt stored state into one ValueError that names the state type and the problem."""
    try:
        yield
    except (KeyError, ValueError, TypeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"stored {kind.__name__} is not valid: {detail}") from exc

"""What the user is told when a circuit breaker trips or reopens: the alert's kind, sentence and figures."""

from __future__ import annotations

from typing import Any

from engine.events import EventKind
from engine.formatting import when
from risk import BreakerEvent, BreakerEventKind, TripReason


def breaker_alert(
    event: BreakerEvent, symbol: str, pair_breaker: Any, daily_breaker: Any
) -> tuple[EventKind, str, dict[str, Any]]:
    """A loss streak trips the pair's breaker, the daily loss limit every pair of the user; both say when new
    entries resume on their own and that /resume restarts sooner."""
    streak = event.reason is TripReason.LOSS_STREAK
    if event.kind is BreakerEventKind.TRIPPED:
        reopens = (pair_breaker if streak else daily_breaker).reopens_at
        what = (
            f"{symbol} circuit breaker tripped: {pair_breaker.consecutive_losses} losing trades in a row"
            if streak else "daily loss limit hit: no new entries on any pair"
        )  # fmt: skip
        resume = f"; new entries resume at {when(reopens)} UTC (/resume to restart sooner)" if reopens else ""
        return EventKind.BREAKER_TRIPPED, what + resume, {"reason": event.reason.value, "reopens_at": reopens}
    what = f"{symbol} circuit breaker" if streak else "daily loss limit"
    how = "cooldown over" if event.kind is BreakerEventKind.COOLDOWN_EXPIRED else "reset"
    return EventKind.BREAKER_RESUMED, f"{what} {how}: new entries allowed again", {"reason": event.reason.value}

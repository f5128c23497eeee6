"""A user's preferences as stored in users.settings (JSON), read and changed as plain values.

    {"risk": {"risk_per_trade": "0.02", ...},           user-wide risk overrides (validated by risk.RiskLimits)
     "alerts": {"daily_summary": false, ...},           event kind -> on/off, as bot/alerts.py reads it
     "leaderboard": true,                               shown on the leaderboard (/top), by name only
     "summary_hour": 20}                                the daily summary's hour (UTC, 0-23; default 0)

A kind not in "alerts" is on, so a kind added later reaches everyone until they switch it off; the kinds in
ALWAYS_SENT (they need the user) cannot be switched off. Per-pair overrides live in user_pairs.risk_overrides.
The functions never mutate their argument: a JSON column changes only when a new dict is assigned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.events import EventKind
from risk import RiskLimits


def user_risk_overrides(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    risk = (settings or {}).get("risk")
    return dict(risk) if isinstance(risk, Mapping) else {}


def with_user_risk(settings: Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    updated = dict(settings or {})
    updated["risk"] = dict(overrides)
    if not overrides:
        updated.pop("risk")
    return updated


def pair_limits(
    base: RiskLimits, settings: Mapping[str, Any] | None, pair_overrides: Mapping[str, Any] | None
) -> RiskLimits:
    """The limits one pair trades under: the operator's, then the user's overrides, then the pair's."""
    return base.resolve(user_risk_overrides(settings), pair_overrides or {})


ALWAYS_SENT = frozenset({EventKind.LIQUIDATED, EventKind.ORDER_UNKNOWN, EventKind.BREAKER_TRIPPED})


def alerts_enabled(settings: Mapping[str, Any] | None) -> frozenset[EventKind]:
    alerts = (settings or {}).get("alerts")
    chosen = alerts if isinstance(alerts, Mapping) else {}
    return frozenset(kind for kind in EventKind if kind in ALWAYS_SENT or chosen.get(kind.value, True) is not False)


def wants_alert(settings: Mapping[str, Any] | None, kind: EventKind) -> bool:
    """Whether an event of this kind goes to the user (the bot's alert filter)."""
    return kind in alerts_enabled(settings)


def with_alerts(settings: Mapping[str, Any] | None, enabled: Iterable[EventKind]) -> dict[str, Any]:
    on = set(enabled) | ALWAYS_SENT
    updated = dict(settings or {})
    updated["alerts"] = {kind.value: kind in on for kind in EventKind if kind not in ALWAYS_SENT}
    return updated


def on_leaderboard(settings: Mapping[str, Any] | None) -> bool:
    return (settings or {}).get("leaderboard") is True


def with_leaderboard(settings: Mapping[str, Any] | None, opt_in: bool) -> dict[str, Any]:
    updated = dict(settings or {})
    updated["leaderboard"] = bool(opt_in)
    return updated


DEFAULT_SUMMARY_HOUR = 0  # UTC: the summary of the UTC day that has just ended


def summary_hour(settings: Mapping[str, Any] | None) -> int:
    hour = (settings or {}).get("summary_hour")
    ok = isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23
    return hour if ok else DEFAULT_SUMMARY_HOUR  # type: ignore[return-value]


def with_summary_hour(settings: Mapping[str, Any] | None, hour: int) -> dict[str, Any]:
    if not 0 <= hour <= 23:
        raise ValueError("the summary hour is 0 to 23 (UTC)")
    return {**(settings or {}), "summary_hour": hour}

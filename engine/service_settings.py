"""/settings: risk overrides (for all of the user's pairs, or one pair) and which alerts the user receives.

Every override goes through risk.RiskLimits: its parser (text, numbers, "2%"), its ranges and its cross-checks
(min below max), so a value the risk manager would refuse is refused here, with its words. A change reaches the
running engines at once (their next step trades under the new limits).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from db.models import UserPair
from db.repositories import PairRepository, UserRepository
from engine.events import EventKind
from engine.service_context import PairRef, ServiceContext, find_pair, live_pairs
from engine.service_errors import InvalidInput, InvalidSetting
from engine.service_inputs import shown
from engine.service_pairs import tell_changed
from engine.service_prefs import (
    ALWAYS_SENT,
    alerts_enabled,
    on_leaderboard,
    summary_hour,
    user_risk_overrides,
    with_alerts,
    with_leaderboard,
    with_summary_hour,
    with_user_risk,
)
from risk import OverrideScope, RiskConfigError, RiskLimits

RISK_KEYS = tuple(spec.name for spec in dataclasses.fields(RiskLimits))


@dataclass(frozen=True, slots=True)
class RiskSetting:
    key: str
    value: str
    default: str  # the operator's value (for a pair: the value for the user's other pairs)
    source: str  # default | you | pair
    description: str  # what it means and its allowed range


@dataclass(frozen=True, slots=True)
class PairSettings:
    symbol: str
    overrides: tuple[RiskSetting, ...]


@dataclass(frozen=True, slots=True)
class SettingsView:
    risk: tuple[RiskSetting, ...]  # every limit as it applies to the user's pairs
    pairs: tuple[PairSettings, ...]  # pairs with overrides of their own
    alerts: tuple[tuple[EventKind, bool], ...]
    leaderboard: bool
    summary_hour: int  # UTC hour of the daily summary


@dataclass(frozen=True, slots=True)
class RiskSettingChanged:
    key: str
    value: str | None  # None: back to the default
    symbol: str | None  # None: for all of the user's pairs
    description: str


@dataclass(frozen=True, slots=True)
class AlertsChanged:
    enabled: tuple[EventKind, ...]


@dataclass(frozen=True, slots=True)
class LeaderboardChanged:
    opted_in: bool


@dataclass(frozen=True, slots=True)
class SummaryHourChanged:
    hour: int


def _key(raw: object) -> str:
    key = raw.strip().lower() if isinstance(raw, str) else raw
    if key not in RISK_KEYS:
        known = ", ".join(RISK_KEYS)
        raise InvalidSetting(f"Not changed: unknown risk setting {shown(raw)!r}. Known settings: {known}.")
    return str(key)


class SettingsCalls:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def show(self, telegram_id: int) -> SettingsView:
        base = self.ctx.base_limits
        async with self.ctx.session(telegram_id) as (session, user):
            mine = user_risk_overrides(user.settings)
            try:
                effective = base.with_overrides(mine)
            except RiskConfigError as exc:
                raise InvalidSetting(f"Your stored risk settings are no longer valid: {exc}.") from None
            defaults, values = base.to_dict(), effective.to_dict()
            risk = tuple(
                RiskSetting(key, str(values[key]), str(defaults[key]), "you" if key in mine else "default",
                            RiskLimits.describe(key))
                for key in RISK_KEYS
            )  # fmt: skip
            pairs = tuple(
                PairSettings(
                    pair.symbol,
                    tuple(
                        RiskSetting(key, str(value), str(values.get(key, "")), "pair", RiskLimits.describe(key))
                        for key, value in sorted(pair.risk_overrides.items())
                        if key in RISK_KEYS
                    ),
                )
                for pair in await live_pairs(session, user)
                if pair.risk_overrides
            )
            enabled = alerts_enabled(user.settings)
            alerts = tuple((kind, kind in enabled) for kind in EventKind)
            return SettingsView(risk, pairs, alerts, on_leaderboard(user.settings), summary_hour(user.settings))

    async def set_risk(
        self, telegram_id: int, key: object, value: object, pair: PairRef | None = None
    ) -> RiskSettingChanged:
        """key=value for all of the user's pairs, or for one pair (limits that are user-wide refuse that)."""
        name = _key(key)
        if isinstance(value, str) and len(value.strip()) > 40 or value is None:
            raise InvalidSetting(f"Not changed: {name} must be a number (got {shown(value)}).")
        return await self._change(telegram_id, name, value, pair)

    async def clear_risk(self, telegram_id: int, key: object, pair: PairRef | None = None) -> RiskSettingChanged:
        """Back to the default (the operator's, or for a pair the user's own)."""
        return await self._change(telegram_id, _key(key), None, pair)

    async def _change(self, telegram_id: int, key: str, value: object, pair: PairRef | None) -> RiskSettingChanged:
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                mine = user_risk_overrides(user.settings)
                pairs = await live_pairs(session, user)
                try:
                    if pair is None:
                        stored = self._for_user(pairs, mine, key, value)
                        targets, symbol = pairs, None
                    else:
                        target = await find_pair(session, user, pair)
                        stored = self._for_pair(target, mine, key, value)
                        targets, symbol = [target], target.symbol
                except RiskConfigError as exc:
                    raise InvalidSetting(f"Not changed: {exc}.") from None
                if pair is None:
                    new = {k: v for k, v in {**mine, key: stored}.items() if v is not None}
                    await UserRepository(session).set_settings(user.id, with_user_risk(user.settings, new))
                else:
                    overrides = {k: v for k, v in {**targets[0].risk_overrides, key: stored}.items() if v is not None}
                    await PairRepository(session).set_risk_overrides(user.id, targets[0].symbol, overrides)
                await ctx.audit(session, user, "set_risk", symbol, key=key, value=stored)
                changes = [(p.symbol, ctx.pair_change(user, p)) for p in targets]
                user_id = user.id
            await tell_changed(ctx, user_id, changes, "updated")
            shown_value = None if stored is None else str(stored)
            return RiskSettingChanged(key, shown_value, symbol, RiskLimits.describe(key))

    def _for_user(self, pairs: list[UserPair], mine: dict[str, object], key: str, value: object) -> str | int | None:
        """The stored form of the user-wide override (None: removed), checked against every pair's overrides."""
        base = self.ctx.base_limits
        proposed = {k: v for k, v in mine.items() if k != key}
        if value is not None:
            proposed[key] = value
        normalized = base.normalize_overrides(proposed, OverrideScope.USER)
        for pair in pairs:
            base.resolve(normalized, pair.risk_overrides)
        return normalized.get(key)

    def _for_pair(self, pair: UserPair, mine: dict[str, object], key: str, value: object) -> str | int | None:
        base = self.ctx.base_limits
        proposed = {k: v for k, v in (pair.risk_overrides or {}).items() if k != key}
        if value is not None:
            proposed[key] = value
        normalized = base.with_overrides(mine).normalize_overrides(proposed, OverrideScope.PAIR)
        base.resolve(mine, normalized)
        return normalized.get(key)

    async def set_alert(self, telegram_id: int, kind: object, enabled: bool) -> AlertsChanged:
        """Switch one alert kind (or "all") on or off for this user; the kinds that need the user stay on."""
        if isinstance(kind, EventKind):
            kinds = {kind}
        elif isinstance(kind, str) and kind.strip().lower() == "all":
            kinds = set(EventKind)
        elif isinstance(kind, str) and kind.strip().lower() in {k.value for k in EventKind}:
            kinds = {EventKind(kind.strip().lower())}
        else:
            names = ", ".join(k.value for k in EventKind)
            raise InvalidInput(f"Unknown alert {shown(kind)!r}. Alerts: {names} (or all).")
        if not enabled and len(kinds) == 1 and kinds <= ALWAYS_SENT:
            raise InvalidInput(
                "Breaker trips, liquidations and orders the exchange could not confirm are always sent: they need you."
            )
        ctx = self.ctx
        async with ctx.serialized(telegram_id), ctx.session(telegram_id, lock=True) as (session, user):
            current = alerts_enabled(user.settings)
            wanted = current | kinds if enabled else current - kinds
            updated = with_alerts(user.settings, wanted)
            await UserRepository(session).set_settings(user.id, updated)
            await ctx.audit(session, user, "set_alert", kinds=sorted(k.value for k in kinds), enabled=bool(enabled))
            now_on = alerts_enabled(updated)
            return AlertsChanged(tuple(k for k in EventKind if k in now_on))

    async def set_leaderboard(self, telegram_id: int, opt_in: bool) -> LeaderboardChanged:
        """Show (by name and P&L % only) or hide this user on the leaderboard."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id), ctx.session(telegram_id, lock=True) as (session, user):
            await UserRepository(session).set_settings(user.id, with_leaderboard(user.settings, bool(opt_in)))
            await ctx.audit(session, user, "set_leaderboard", opted_in=bool(opt_in))
            return LeaderboardChanged(bool(opt_in))

    async def set_summary_hour(self, telegram_id: int, hour: object) -> SummaryHourChanged:
        """The UTC hour (0-23) of this user's daily summary; "HH", "HH:00" or "20h" are read as the hour."""
        text = hour.strip().lower().removesuffix("utc").strip().removesuffix("h") if isinstance(hour, str) else hour
        if isinstance(text, str) and text.endswith(":00"):
            text = text[:-3]
        value = int(text) if isinstance(text, str) and text.isdigit() and len(text) <= 2 else text
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
            raise InvalidInput(f"The summary hour is a whole hour from 0 to 23, UTC (got {shown(hour)}).")
        ctx = self.ctx
        async with ctx.serialized(telegram_id), ctx.session(telegram_id, lock=True) as (session, user):
            await UserRepository(session).set_settings(user.id, with_summary_hour(user.settings, value))
            await ctx.audit(session, user, "set_summary_hour", hour=value)
            return SummaryHourChanged(value)

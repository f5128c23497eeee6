"""Breaker state survives a restart: saved through the repositories, reloaded, it gives the same decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from db.database import Database
from db.repositories import PairRepository, UserRepository, UserStateRepository
from risk import DailyLossState, LossStreakState, RiskManager
from tests.risk.factories import T0, account, buy, conditions, limits, market, pair


async def _save(database: Database, user_id: int, streak: LossStreakState, daily: DailyLossState) -> None:
    async with database.transaction() as session:
        await PairRepository(session).save_breaker(user_id, "BTC/USDT", streak.to_dict(), streak.status.value)
        await UserStateRepository(session).update(user_id, breaker=daily.to_dict(), breaker_status=daily.status.value)


async def _load(db_url: str, user_id: int) -> tuple[LossStreakState, DailyLossState]:
    database = Database(db_url)  # a new engine and pool: what a restarted process would open
    try:
        async with database.transaction() as session:
            pair_row = await PairRepository(session).get(user_id, "BTC/USDT")
            state = await UserStateRepository(session).get(user_id)
            return LossStreakState.from_dict(pair_row.breaker), DailyLossState.from_dict(state.breaker)
    finally:
        await database.dispose()


async def test_breaker_when_reloaded_from_database_then_every_later_decision_is_unchanged(
    database: Database, db_url: str, telegram_id: Callable[[], int]
) -> None:
    manager = RiskManager(limits())
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        await PairRepository(session).add(user.id, "BTC/USDT", Decimal("2000"), 3)
    streak, daily = LossStreakState(), DailyLossState()
    for minutes, pnl in enumerate(["-10", "-5", "-7"]):  # three losses in a row trip the pair breaker
        streak = manager.record_trade(streak, Decimal(pnl), T0 + timedelta(minutes=minutes)).state
    daily = manager.observe_account(daily, account(), T0).state
    await _save(database, user.id, streak, daily)

    reloaded_streak, reloaded_daily = await _load(db_url, user.id)

    assert (reloaded_streak, reloaded_daily) == (streak, daily)
    for hours in (0, 1, 3, 5, 30):  # while open, as the cooldown expires, and a day later
        now = T0 + timedelta(hours=hours)
        args = {"market": market(), "conditions": conditions(), "account": account(), "pair": pair(), "now": now}
        before = manager.check(buy(), pair_breaker=streak, daily_breaker=daily, **args)
        after = manager.check(buy(), pair_breaker=reloaded_streak, daily_breaker=reloaded_daily, **args)
        assert after == before
    assert (
        manager.check(
            buy(),
            pair_breaker=streak,
            daily_breaker=daily,
            market=market(),
            conditions=conditions(),
            account=account(),
            pair=pair(),
            now=T0,
        ).verdict.code
        == "breaker_open"
    )

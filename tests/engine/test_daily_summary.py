"""The daily summary: its figures from the user's own rows, once per user and day at the chosen hour, on both
database backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from db.database import Database
from db.models import EquitySnapshot
from db.repositories import AccountRepository, PairRepository, PositionRepository, TradeRepository, UserRepository
from domain.money import datetime_to_ms
from engine.daily_summary import DailySummaries, due_moment, summarize
from engine.events import EventKind
from engine.notifier import InMemoryNotifier
from engine.service_prefs import summary_hour, with_summary_hour

DAY1 = datetime(2018, 3, 1, tzinfo=UTC)


async def _trader(database: Database, telegram_id: int, hour: int | None = None) -> int:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id, "trader")
        if hour is not None:
            await UserRepository(session).set_settings(user.id, with_summary_hour(user.settings, hour))
        account = await AccountRepository(session).add_paper(user.id, Decimal(10000))
        await PairRepository(session).add(user.id, "BTC/USDT", Decimal(1000), account_id=account.id)
        return user.id


async def _snapshot(database: Database, user_id: int, at: datetime, equity: str) -> None:
    async with database.transaction() as session:
        session.add(EquitySnapshot(user_id=user_id, at=at, equity=Decimal(equity), balance=Decimal(equity)))


async def _trade(database: Database, user_id: int, opened: datetime, closed: datetime | None, pnl: str, fees: str):
    async with database.transaction() as session:
        pair = await PairRepository(session).get(user_id, "BTC/USDT")
        assert pair is not None
        trades = TradeRepository(session)
        row = await trades.open(user_id, "BTC/USDT", "long", Decimal("0.1"), Decimal(10000), opened, pair_id=pair.id,
                                fees=Decimal(fees))  # fmt: skip
        if closed is not None:
            await trades.close(user_id, row.id, Decimal(10100), Decimal(pnl), closed, "signal")


def test_due_moment_when_before_and_after_the_hour_then_latest_moment_at_or_before_now() -> None:
    assert due_moment(datetime(2018, 3, 2, 19, 59, tzinfo=UTC), 20) == datetime(2018, 3, 1, 20, tzinfo=UTC)
    assert due_moment(datetime(2018, 3, 2, 20, 0, tzinfo=UTC), 20) == datetime(2018, 3, 2, 20, tzinfo=UTC)
    assert due_moment(datetime(2018, 3, 2, 0, 0, tzinfo=UTC), 0) == datetime(2018, 3, 2, tzinfo=UTC)


def test_summary_hour_when_stored_value_is_not_an_hour_then_default() -> None:
    assert summary_hour({"summary_hour": 20}) == 20
    for bad in (24, -1, "20", True, None, 3.0):
        assert summary_hour({"summary_hour": bad}) == 0
    with pytest.raises(ValueError):
        with_summary_hour({}, 24)


async def test_summarize_when_trades_in_and_out_of_the_window_then_only_the_window_counts_exactly(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    user = await _trader(fresh_database, telegram_id())
    other = await _trader(fresh_database, telegram_id())
    await _snapshot(fresh_database, user, DAY1 - timedelta(hours=1), "10000.00")
    await _snapshot(fresh_database, user, DAY1 + timedelta(hours=23), "10123.45")
    await _snapshot(fresh_database, user, DAY1 + timedelta(hours=25), "99999")  # after the window
    await _trade(fresh_database, user, DAY1 + timedelta(hours=2), DAY1 + timedelta(hours=5), "150.10", "2.05")
    await _trade(fresh_database, user, DAY1 + timedelta(hours=6), DAY1 + timedelta(hours=9), "-26.65", "1.95")
    await _trade(fresh_database, user, DAY1 - timedelta(hours=6), DAY1 - timedelta(hours=2), "500", "1")  # before
    await _trade(fresh_database, user, DAY1 + timedelta(hours=20), None, "0", "0.5")  # still open
    await _trade(fresh_database, other, DAY1 + timedelta(hours=2), DAY1 + timedelta(hours=3), "-999", "9")
    async with fresh_database.transaction() as session:
        await PositionRepository(session).upsert(
            user, "BTC/USDT", DAY1 + timedelta(hours=20), side="long", amount=Decimal("0.1"),
            entry_price=Decimal(10000), unrealized_pnl=Decimal("-3.21"),
        )  # fmt: skip
        summary = await summarize(session, user, DAY1 + timedelta(days=1))
    assert summary.equity_start == Decimal("10000.00") and summary.equity_end == Decimal("10123.45")
    assert summary.change == Decimal("123.45")
    assert (summary.closed, summary.wins, summary.losses, summary.opened) == (2, 1, 1, 3)
    assert summary.net_pnl == Decimal("123.45") and summary.fees == Decimal("4.00")
    assert (summary.open_positions, summary.unrealized) == (1, Decimal("-3.21"))
    text = summary.message()
    assert "equity 10,123.45 USDT (+123.45, +1.23%)" in text
    assert "2 trades closed (1 won, 1 lost), net P&L +123.45 incl. fees 4.00; 3 opened" in text
    assert "1 open position, unrealized -3.21" in text


async def test_run_due_when_called_again_or_by_a_second_runner_then_each_day_sent_once(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    user = await _trader(fresh_database, telegram_id(), hour=20)
    await _snapshot(fresh_database, user, DAY1, "10000")
    first, second = InMemoryNotifier(), InMemoryNotifier()
    one, two = DailySummaries(fresh_database, first), DailySummaries(fresh_database, second)
    at = DAY1 + timedelta(hours=19, minutes=59)
    assert await one.run_due(datetime_to_ms(at)) == []  # the first 20:00 after any record is still ahead
    at = DAY1 + timedelta(hours=20)
    sent = await one.run_due(datetime_to_ms(at))
    assert [s.end for s in sent] == [at]
    assert await one.run_due(datetime_to_ms(at + timedelta(minutes=1))) == []
    assert await two.run_due(datetime_to_ms(at + timedelta(hours=3))) == []  # a second process, a restart
    assert [e.kind for e in first.events] == [EventKind.DAILY_SUMMARY] and second.events == []
    event = first.events[0]
    assert event.user_id == user and event.at == at and "24 h to 01 Mar 2018 20:00 UTC" in event.message
    later = await two.run_due(datetime_to_ms(at + timedelta(days=1, hours=5)))  # down at 20:00: sent late, once
    assert [s.end for s in later] == [at + timedelta(days=1)]


async def test_run_due_when_users_pick_hours_then_each_gets_it_at_their_own_hour(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    early, late = await _trader(fresh_database, telegram_id(), 6), await _trader(fresh_database, telegram_id(), 18)
    for user in (early, late):
        await _snapshot(fresh_database, user, DAY1, "10000")
    notifier = InMemoryNotifier()
    summaries = DailySummaries(fresh_database, notifier)
    for hour in range(0, 25):
        await summaries.run_due(datetime_to_ms(DAY1 + timedelta(hours=hour)))
    assert [(e.user_id, e.at.hour) for e in notifier.events] == [(early, 6), (late, 18)]


async def test_run_due_when_user_paused_or_without_pairs_then_no_summary(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    paused = await _trader(fresh_database, telegram_id())
    await _snapshot(fresh_database, paused, DAY1, "10000")
    async with fresh_database.transaction() as session:
        await UserRepository(session).set_status(paused, "paused")
        lonely, _ = await UserRepository(session).register(telegram_id(), "lonely")
    await _snapshot(fresh_database, lonely.id, DAY1, "10000")
    notifier = InMemoryNotifier()
    await DailySummaries(fresh_database, notifier).run_due(datetime_to_ms(DAY1 + timedelta(days=2)))
    assert notifier.events == []

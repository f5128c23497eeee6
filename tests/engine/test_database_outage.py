"""A database that cannot be reached is told from a bug (db.database.is_unavailable), and the engines wait it out
together (engine/outage.py): one probe, one event per user when it is back, however many engines waited."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.exc import DBAPIError

from adapters.exchange.replay import SimulatedClock
from db.database import DatabaseUnavailable, is_unavailable
from engine.clock import ReplayClock
from engine.events import EventKind
from engine.notifier import InMemoryNotifier
from engine.outage import DatabaseOutage


def _raised(outer: type[Exception], inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer("wrapped") from exc
    except Exception as caught:  # noqa: BLE001
        return caught


def test_is_unavailable_when_the_server_shuts_down_or_refuses_then_true_and_a_bug_is_not() -> None:
    shutting_down = asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
    wrapped = DBAPIError("SELECT 1", None, shutting_down)  # as SQLAlchemy's asyncpg dialect raises it
    assert is_unavailable(wrapped)
    assert is_unavailable(_raised(RuntimeError, ConnectionRefusedError(111, "refused")))
    assert is_unavailable(DatabaseUnavailable("database is unavailable"))
    assert not is_unavailable(_raised(RuntimeError, ValueError("a parser bug")))
    assert not is_unavailable(DBAPIError("SELECT 1", None, asyncpg.exceptions.UniqueViolationError("dup")))


async def test_outage_when_three_engines_of_two_users_wait_then_one_probe_and_each_user_told_once() -> None:
    answers = [False, False, True]  # down, down, back
    probes: list[bool] = []

    async def probe() -> None:
        probes.append(answers[min(len(probes), 2)])
        if not probes[-1]:
            raise DatabaseUnavailable("down")

    notifier = InMemoryNotifier()
    outage = DatabaseOutage(probe, notifier, ReplayClock(SimulatedClock(1_500_000_000_000)), every_s=0.01)
    pairs = [(1, "BTC/USDT"), (1, "ETH/USDT"), (2, "BTC/USDT")]
    await asyncio.gather(*(outage.wait([pair], "DBAPIError: shutting down") for pair in pairs))
    assert probes == [False, False, True] and outage.outages == 1 and not outage.active
    told = [(e.user_id, e.kind) for e in notifier.events]
    assert told == [(1, EventKind.ENGINE_ERROR), (2, EventKind.ENGINE_ERROR)]
    assert "could not reach its database" in notifier.events[0].message

    await outage.wait([(2, "BTC/USDT")], "again")  # a second outage is a new one: told again, once
    assert outage.outages == 2 and [e.user_id for e in notifier.events] == [1, 2, 2]

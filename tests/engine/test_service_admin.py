"""The admins' calls through the service, on SQLite and PostgreSQL, with real engines behind ManagerControl:
refused for everyone else with nothing changed; the user list without a key; pausing a user pauses every pair
and their engines open nothing while another user's do, resuming restores only what the operator paused;
broadcasts land in the outbox, escaped, once per user who is not blocked; every call is audited as the admin."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from db.database import Database
from db.encryption import SecretBox
from db.models import AlertOutbox, AuditLog, ExchangeAccount, User, UserPair
from db.repositories import AccountRepository, UserRepository
from domain.credentials import ExchangeCredentials
from engine.service_errors import InvalidInput, NotAnAdmin, NotRegistered
from tests.engine.service_world import BTC, ETH, SETTINGS, World

KEY, SECRET = "AKIAlivekey0123456789", "s3cr3t-never-shown-0123456789"


async def _world(database: Database, *admins: int) -> World:
    return World.build(database, settings=SETTINGS.model_copy(update={"admin_telegram_ids": list(admins)}))


@pytest.fixture
async def cast(database: Database, telegram_id: Callable[[], int]) -> AsyncIterator[tuple[World, int]]:
    """A world whose ADMIN_TELEGRAM_IDS holds one fresh id (not registered as a trader)."""
    admin = telegram_id()
    world = await _world(database, admin)
    yield world, admin
    await world.close()


async def _user(database: Database, telegram_id: int) -> User:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return user


async def _pairs(database: Database, telegram_id: int) -> dict[str, tuple[str, str | None]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(UserPair).join(User, User.id == UserPair.user_id).where(User.telegram_id == telegram_id)
        )
        return {row.symbol: (row.status, row.status_reason) for row in rows}


async def _outbox(database: Database, user_id: int | None = None) -> list[AlertOutbox]:
    query = select(AlertOutbox).order_by(AlertOutbox.id)
    if user_id is not None:
        query = query.where(AlertOutbox.user_id == user_id)
    async with database.transaction() as session:
        return list(await session.scalars(query))


async def _admin_audit(database: Database, admin: int) -> list[AuditLog]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.actor == f"telegram:{admin}").order_by(AuditLog.id)
        )
        return list(rows)


async def _set_status(database: Database, telegram_id: int, status: str) -> None:
    async with database.transaction() as session:
        user = await UserRepository(session).by_telegram_id(telegram_id)
        assert user is not None
        await UserRepository(session).set_status(user.id, status)


async def test_admin_calls_when_actor_is_not_an_admin_then_refused_and_nothing_changes(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    bob, carol, stranger = telegram_id(), telegram_id(), telegram_id()
    await world.trader(bob, "Bob")
    await world.service.pairs.add(bob, BTC, "1000")
    await world.trader(carol, "Carol")
    bob_id = (await _user(world.database, bob)).id
    admin_calls = world.service.admin

    for actor in (bob, stranger, True, "1"):
        for attempt in (
            admin_calls.users(actor),  # type: ignore[arg-type]
            admin_calls.stats(actor),  # type: ignore[arg-type]
            admin_calls.set_user_status(actor, bob, "paused", "no"),  # type: ignore[arg-type]
            admin_calls.set_user_status(actor, carol, "active"),  # type: ignore[arg-type]
            admin_calls.broadcast(actor, "<b>free money</b>"),  # type: ignore[arg-type]
        ):
            with pytest.raises(NotAnAdmin, match="Only the operator's admins can do that."):
                await attempt

    assert await _pairs(world.database, bob) == {BTC: ("active", None)}
    assert not world.manager.engines[(bob_id, BTC)].config.paused
    assert (await _user(world.database, bob)).status == "active"
    assert await _outbox(world.database, bob_id) == []
    async with world.database.transaction() as session:
        admin_rows = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action.like("admin_%"), AuditLog.actor.in_([f"telegram:{bob}", f"telegram:{stranger}"]))
        )
    assert admin_rows == 0


async def test_admin_calls_when_only_the_user_row_says_admin_then_allowed_unless_blocked(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, _ = cast
    deputy = telegram_id()
    await world.service.accounts.register(deputy, "Deputy")
    async with world.database.transaction() as session:
        row = await UserRepository(session).by_telegram_id(deputy)
        assert row is not None
        row.is_admin = True

    assert (await world.service.admin.stats(deputy)).users_total >= 1
    await _set_status(world.database, deputy, "blocked")
    with pytest.raises(NotAnAdmin):
        await world.service.admin.stats(deputy)


async def test_users_when_admin_lists_them_then_each_user_is_shown_without_any_key(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin, alice, bob, carol = (telegram_id() for _ in range(4))
    box = SecretBox(os.urandom(32))
    world = World.build(fresh_database, box=box, settings=SETTINGS.model_copy(update={"admin_telegram_ids": [admin]}))
    try:
        await world.trader(alice, "Alice <script>")
        await world.service.pairs.add(alice, BTC, "1000")
        await world.service.pairs.add(alice, ETH, "1000")
        await world.service.pairs.remove(alice, ETH)
        await world.run_hours(2)  # the engines mark Alice's account
        await world.service.accounts.register(bob, "Bob", "bobby")
        async with fresh_database.transaction() as session:
            bob_id = (await _user(fresh_database, bob)).id
            await AccountRepository(session, box).add_live(bob_id, "binance", ExchangeCredentials(KEY, SECRET))
        await world.service.accounts.register(carol, None)

        first = await world.service.admin.users(admin, 1, per_page=2)
        second = await world.service.admin.users(admin, "2", per_page=2)
        past = await world.service.admin.users(admin, 9, per_page=2)
        with pytest.raises(InvalidInput, match="The page must be a whole number"):
            await world.service.admin.users(admin, "-1")

        assert (first.page, first.pages, first.total, second.page, past.users) == (1, 2, 3, 2, ())
        a, b = first.users
        (c,) = second.users
        assert (a.telegram_id, a.name, a.mode, a.status, a.pairs) == (alice, "Alice <script>", "paper", "active", 1)
        assert a.equity == Decimal("10000") and a.account == "paper (perpetual, replay prices)"
        assert (b.telegram_id, b.name, b.username, b.pairs, b.equity) == (bob, "Bob", "bobby", 0, None)
        assert b.account == "binance (spot)"
        assert (c.telegram_id, c.name, c.account, c.equity) == (carol, None, None, None)
        for shown in (repr(first), repr(second), str(first.users)):
            assert KEY not in shown and SECRET not in shown and "api_" not in shown
        async with fresh_database.transaction() as session:
            stored = await session.scalar(select(ExchangeAccount).where(ExchangeAccount.user_id == bob_id))
            assert stored is not None and stored.api_key_enc  # the key is there, only never shown
        rows = await _admin_audit(fresh_database, admin)
        assert [(r.action, r.user_id, r.detail) for r in rows] == [
            ("admin_users", None, {"page": 1}),
            ("admin_users", None, {"page": 2}),
            ("admin_users", None, {"page": 9}),
        ]
    finally:
        await world.close()


async def test_set_user_status_when_paused_then_every_pair_pauses_and_engines_stop_trading_and_resume_restores(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    alice, bob = telegram_id(), telegram_id()
    for tid, name in ((alice, "Alice"), (bob, "Bob")):
        await world.trader(tid, name)
        await world.service.pairs.add(tid, BTC, "2000", 3)
    await world.service.pairs.add(alice, ETH, "2000", 3)
    alice_id, bob_id = (await _user(world.database, alice)).id, (await _user(world.database, bob)).id

    paused = await world.service.admin.set_user_status(admin, str(alice), "paused", "  KYC\x00 check <b>now</b> ")

    assert (paused.status, paused.previous, paused.pairs, paused.unchanged) == ("paused", "active", (BTC, ETH), ())
    assert paused.reason == "KYC check <b>now</b>" and paused.told and paused.name == "Alice"
    reason = "paused by the operator: KYC check <b>now</b>"
    assert await _pairs(world.database, alice) == {BTC: ("paused", reason), ETH: ("paused", reason)}
    assert all(engine.config.paused for engine in world.manager.engines_of(alice_id))
    assert (await _user(world.database, alice)).status == "paused"
    with pytest.raises(InvalidInput, match="The operator has paused your account"):
        await world.service.pairs.resume(alice)
    await world.run_hours(14)  # the replay opens positions at 13:00
    assert [p.symbol for p in await world.service.reports.positions(bob)] == [BTC]
    assert await world.service.reports.positions(alice) == ()
    [notice] = await _outbox(world.database, alice_id)
    assert notice.kind == "operator" and "The operator paused your account" in notice.text
    assert "Reason: KYC check &lt;b&gt;now&lt;/b&gt;" in notice.text

    resumed = await world.service.admin.set_user_status(admin, alice, "active")
    again = await world.service.admin.set_user_status(admin, alice, "active")

    assert (resumed.status, resumed.previous, resumed.pairs, resumed.told) == ("active", "paused", (BTC, ETH), True)
    assert (again.previous, again.pairs, again.told) == ("active", (), False)
    assert await _pairs(world.database, alice) == {BTC: ("active", None), ETH: ("active", None)}
    assert not any(engine.config.paused for engine in world.manager.engines_of(alice_id))
    assert (await _user(world.database, alice)).status == "active"
    assert len(await _outbox(world.database, alice_id)) == 2 and await _outbox(world.database, bob_id) == []
    await world.run_hours(3)  # Alice's engines trade again: the replay has them open both pairs by 16:00
    assert [p.symbol for p in await world.service.reports.positions(alice)] == [BTC, ETH]
    rows = await _admin_audit(world.database, admin)
    assert [(r.action, r.user_id) for r in rows] == [
        ("admin_pause_user", alice_id), ("admin_resume_user", alice_id), ("admin_resume_user", alice_id)
    ]  # fmt: skip
    assert rows[0].detail == {"target": alice, "previous": "active", "pairs": [BTC, ETH],
                              "reason": "KYC check <b>now</b>"}  # fmt: skip


async def test_set_user_status_when_user_had_paused_a_pair_then_resume_leaves_that_pair_paused(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    alice = telegram_id()
    await world.trader(alice, "Alice")
    await world.service.pairs.add(alice, BTC, "1000")
    await world.service.pairs.add(alice, ETH, "1000")
    await world.service.pairs.pause(alice, ETH)
    alice_id = (await _user(world.database, alice)).id

    paused = await world.service.admin.set_user_status(admin, alice, "paused")
    resumed = await world.service.admin.set_user_status(admin, alice, "active")

    assert (paused.pairs, paused.unchanged, resumed.pairs, resumed.unchanged) == ((BTC,), (ETH,), (BTC,), (ETH,))
    assert await _pairs(world.database, alice) == {BTC: ("active", None), ETH: ("paused", "paused by you")}
    assert not world.manager.engines[(alice_id, BTC)].config.paused
    assert world.manager.engines[(alice_id, ETH)].config.paused


async def test_set_user_status_when_arguments_wrong_or_target_blocked_then_refused_and_nothing_changes(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    blocked, nobody = telegram_id(), telegram_id()
    await world.trader(blocked, "Mallory")
    await world.service.pairs.add(blocked, BTC, "1000")
    await _set_status(world.database, blocked, "blocked")

    for target, status, reason, words in (
        (nobody, "paused", None, f"No user with Telegram id {nobody} is registered"),
        (blocked, "paused", None, "is blocked by the operator"),
        (blocked, "active", None, "is blocked by the operator"),
        ("12abc", "paused", None, "A Telegram user id is a whole number"),
        (-5, "paused", None, "A Telegram user id is a whole number"),
        (True, "paused", None, "A Telegram user id is a whole number"),
        (blocked, "blocked", None, "The status"),
        (blocked, "paused", "x" * 201, "The reason is too long"),
    ):
        with pytest.raises(InvalidInput, match=words):
            await world.service.admin.set_user_status(admin, target, status, reason)

    assert await _pairs(world.database, blocked) == {BTC: ("active", None)}
    assert (await _user(world.database, blocked)).status == "blocked"
    assert await _admin_audit(world.database, admin) == []
    with pytest.raises(NotRegistered):
        await world.service.pairs.show(nobody)


async def test_broadcast_when_admin_sends_then_one_escaped_row_per_user_who_is_not_blocked(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin, alice, bob, carol = (telegram_id() for _ in range(4))
    world = await _world(fresh_database, admin)
    try:
        for tid, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
            await world.service.accounts.register(tid, name)
        await world.service.admin.set_user_status(admin, bob, "paused")
        await _set_status(fresh_database, carol, "blocked")
        ids = {tid: (await _user(fresh_database, tid)).id for tid in (alice, bob, carol)}
        before = {row.id for row in await _outbox(fresh_database)}
        woken: list[int] = []
        world.service.context.on_outbox = lambda: woken.append(len(woken))

        count = await world.service.admin.broadcast(admin, "Maintenance at 10:00 <b>UTC</b> & \x07more\nsoon")

        queued = [row for row in await _outbox(fresh_database) if row.id not in before]
        assert count == 2 and woken == [0]  # the sender is woken once, after the rows are committed
        assert sorted(row.user_id for row in queued) == sorted([ids[alice], ids[bob]])
        assert {row.kind for row in queued} == {"broadcast"}
        expected = "<b>📣 Message from the operator</b>\nMaintenance at 10:00 &lt;b&gt;UTC&lt;/b&gt; &amp; more\nsoon"
        assert {row.text for row in queued} == {expected}
        assert all(row.sent_at is None and not row.dropped and row.attempts == 0 for row in queued)
        [audit] = [r for r in await _admin_audit(fresh_database, admin) if r.action == "admin_broadcast"]
        assert audit.user_id is None and audit.detail["recipients"] == 2
    finally:
        await world.close()


async def test_broadcast_when_text_empty_or_too_long_then_refused_and_nothing_queued(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    await world.service.accounts.register(telegram_id(), "Alice")
    before = len(await _outbox(world.database))

    for text in ("", "   ", "\x00\x01", None, "x" * 3501):
        with pytest.raises(InvalidInput):
            await world.service.admin.broadcast(admin, text)

    assert len(await _outbox(world.database)) == before
    assert await _admin_audit(world.database, admin) == []


async def test_stats_when_admin_asks_then_figures_from_the_database_and_the_engines(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin, alice, bob, carol = (telegram_id() for _ in range(4))
    world = await _world(fresh_database, admin)
    try:
        await world.trader(alice, "Alice")
        await world.service.pairs.add(alice, BTC, "2000", 3)
        await world.service.pairs.add(alice, ETH, "2000", 3)
        await world.trader(bob, "Bob")
        await world.service.pairs.add(bob, BTC, "2000", 3)
        await world.service.admin.set_user_status(admin, bob, "paused")
        await world.service.accounts.register(carol, "Carol")
        await _set_status(fresh_database, carol, "blocked")
        await world.run_hours(14)

        stats = await world.service.admin.stats(admin)
        offline = World.build(fresh_database, engines=False,
                              settings=SETTINGS.model_copy(update={"admin_telegram_ids": [admin]}))  # fmt: skip
        try:
            elsewhere = await offline.service.admin.stats(admin)
        finally:
            await offline.close()

        assert (stats.users_total, stats.users_active, stats.users_paused, stats.users_blocked) == (3, 1, 1, 1)
        assert stats.pairs == (("active", 2), ("paused", 1))
        assert (stats.open_positions, stats.trades_today) == (2, 2)
        assert stats.alerts_waiting == 1  # Bob's notice (the World's engines alert through an in-memory notifier)
        assert (stats.engines_loaded, stats.engines_trading) == (3, 2)
        assert (elsewhere.engines_loaded, elsewhere.engines_trading) == (None, None)
        assert elsewhere.open_positions == 2
        rows = await _admin_audit(fresh_database, admin)
        assert [r.action for r in rows][-2:] == ["admin_stats", "admin_stats"]
    finally:
        await world.close()

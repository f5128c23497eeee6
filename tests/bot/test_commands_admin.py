"""/users, /stats, /pauseuser, /resumeuser and /broadcast through the Router, on the real service (replay
markets, real engines behind ManagerControl) over SQLite and PostgreSQL: hidden from and refused to everyone who
is not an admin with nothing changed; the user list without a key; a paused user's pairs and engines stop and the
user is told; broadcasts queued once per user who is not blocked, escaped; every admin command audited."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from bot.router import Actor
from db.database import Database
from db.encryption import SecretBox
from db.models import AlertOutbox, AuditLog, User
from db.repositories import AccountRepository, UserRepository
from domain.credentials import ExchangeCredentials
from tests.bot.commands_support import Chat, holdings, router_for
from tests.engine.live_support import fresh_database
from tests.engine.service_world import BTC, ETH, SETTINGS, World

__all__ = ["fresh_database"]

KEY, SECRET = "AKIAbotlistkey987654", "bot-secret-never-listed-987654"
ADMIN_COMMANDS = ("users", "stats", "pauseuser", "resumeuser", "broadcast")


def _world(database: Database, admin: int, box: SecretBox | None = None) -> World:
    return World.build(database, box=box, settings=SETTINGS.model_copy(update={"admin_telegram_ids": [admin]}))


@pytest.fixture
async def staff(database: Database, telegram_id: Callable[[], int]) -> AsyncIterator[tuple[World, Chat]]:
    """A world whose ADMIN_TELEGRAM_IDS holds the admin, and the admin's chat (as the transport marks it)."""
    admin = telegram_id()
    world = _world(database, admin)
    yield world, Chat(router_for(world), Actor(admin, name="Op", is_admin=True))
    await world.close()


async def trader(world: World, admin: Chat, telegram_id: int, name: str, *pairs: str) -> Chat:
    user = Chat(admin.router, Actor(telegram_id, name=name))
    await user.send("/start")
    await user.send("/connect paper 10000")
    for symbol in pairs:
        await user.send(f"/addpair {symbol} 2000 3")
    return user


async def _user(database: Database, telegram_id: int) -> User:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return user


async def _outbox(database: Database) -> list[AlertOutbox]:
    async with database.transaction() as session:
        return list(await session.scalars(select(AlertOutbox).order_by(AlertOutbox.id)))


async def _audit(database: Database, telegram_id: int) -> list[tuple[str, dict[str, object]]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.actor == f"telegram:{telegram_id}").order_by(AuditLog.id)
        )
        return [(row.action, dict(row.detail)) for row in rows]


async def test_admin_commands_when_sender_is_not_an_admin_then_unknown_and_nothing_changes(
    staff: tuple[World, Chat], telegram_id: Callable[[], int]
) -> None:
    world, admin = staff
    alice = await trader(world, admin, telegram_id(), "Alice", BTC)
    bob = await trader(world, admin, telegram_id(), "Bob", ETH)
    flagged = Chat(admin.router, Actor(telegram_id(), name="Mallory", is_admin=True))  # a transport that lies
    alice_id, bob_tid = (await _user(world.database, alice.actor.telegram_id)).id, bob.actor.telegram_id
    before, outbox = await holdings(world.database, bob_tid), await _outbox(world.database)
    texts = ["/users", "/users 2", "/stats", f"/pauseuser {bob_tid} spam", f"/resumeuser {bob_tid}",
             "/broadcast <b>free money</b>", "/pauseuser", "/broadcast"]  # fmt: skip

    for text in texts:
        reply = await alice.one(text)
        assert reply.text == f"Unknown command {text.split()[0]}. /help lists the commands.", text
        usage = f"Usage: {admin.router.commands[text.split()[0][1:]].usage}"
        assert (await flagged.one(text)).text in ("Only the operator's admins can do that.", usage), text
    stale = await alice.press(f"users:{alice.actor.telegram_id}:2")
    listing = (await alice.one("/help")).text

    assert stale.text == "That button is no longer valid. Send the command again."
    assert not [name for name in ADMIN_COMMANDS if f"/{name}" in listing]
    assert "no /pauseuser command" in (await alice.one("/help pauseuser")).text
    assert await holdings(world.database, bob_tid) == before
    assert [row.id for row in await _outbox(world.database)] == [row.id for row in outbox]  # rows, not objects
    assert not world.manager.engines_of(alice_id)[0].config.paused
    assert not [a for a, _ in await _audit(world.database, alice.actor.telegram_id) if a.startswith("admin_")]
    assert await _audit(world.database, flagged.actor.telegram_id) == []


async def test_users_when_admin_asks_then_every_user_listed_escaped_and_without_keys(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin_tid = telegram_id()
    box = SecretBox(os.urandom(32))
    world = _world(fresh_database, admin_tid, box)
    admin = Chat(router_for(world), Actor(admin_tid, name="Op", is_admin=True))
    try:
        alice = await trader(world, admin, telegram_id(), "<b>Alice</b>", BTC, ETH)
        bob = Chat(admin.router, Actor(telegram_id(), username="bob_live", name="Bob"))
        await bob.send("/start")
        async with fresh_database.transaction() as session:
            bob_id = (await _user(fresh_database, bob.actor.telegram_id)).id
            await AccountRepository(session, box).add_live(bob_id, "binance", ExchangeCredentials(KEY, SECRET))
        await world.run_hours(1)

        listing = await admin.one("/users")
        help_text = (await admin.one("/help")).text
        bad = await admin.one("/users first")

        lines = listing.text.splitlines()
        assert lines[0] == "Users · page 1 of 1 (2 in all)"
        a, b = lines[1:]
        assert a == (f"▶️ {alice.actor.telegram_id} <b>Alice</b> · paper · active · 2 pairs · "
                     "paper (perpetual, replay prices) · equity 10,000.00")  # fmt: skip
        assert "&lt;b&gt;Alice&lt;/b&gt;" in listing.html
        assert b == f"▶️ {bob.actor.telegram_id} Bob @bob_live · paper · active · 0 pairs · binance (spot)"
        assert KEY not in listing.html and SECRET not in listing.html and not listing.buttons
        assert all(f"/{name}" in help_text for name in ADMIN_COMMANDS)
        assert bad.text == "The page must be a whole number, 1 or more (got first)."
        assert [action for action, _ in await _audit(fresh_database, admin_tid)] == ["admin_users"]
    finally:
        await world.close()


async def test_users_when_more_than_a_page_then_buttons_page_through(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin_tid = telegram_id()
    world = _world(fresh_database, admin_tid)
    admin = Chat(router_for(world), Actor(admin_tid, is_admin=True))
    try:
        tids = [telegram_id() for _ in range(21)]
        for tid in tids:
            await Chat(admin.router, Actor(tid, name=f"user{tid}")).send("/start")

        first = await admin.one("/users")
        second = await admin.press(first.buttons[0][0].data)
        foreign = await Chat(admin.router, Actor(tids[0], is_admin=True)).press(first.buttons[0][0].data)

        assert [b.label for row in first.buttons for b in row] == ["Next ▶️"]
        assert first.text.splitlines()[0] == "Users · page 1 of 2 (21 in all)" and len(first.text.splitlines()) == 21
        assert second.edit and second.text.splitlines() == [
            "Users · page 2 of 2 (21 in all)", f"▶️ {tids[20]} user{tids[20]} · paper · active · 0 pairs · no account"
        ]  # fmt: skip
        assert [b.label for row in second.buttons for b in row] == ["◀️ Previous"]
        assert "someone else's message" in foreign.text
    finally:
        await world.close()


async def test_pauseuser_when_admin_pauses_then_pairs_and_engines_stop_user_is_told_and_resumeuser_restores(
    staff: tuple[World, Chat], telegram_id: Callable[[], int]
) -> None:
    world, admin = staff
    alice = await trader(world, admin, telegram_id(), "Alice", BTC, ETH)
    bob = await trader(world, admin, telegram_id(), "Bob", BTC)
    tid = alice.actor.telegram_id
    uid = (await _user(world.database, tid)).id

    paused = await admin.one(f"/pauseuser {tid} too <i>many</i> losses")
    pairs = await alice.one("/pairs")
    refused = await alice.one("/resume")
    await world.run_hours(14)  # the replay opens positions at 13:00, for Bob only
    bob_positions, alice_positions = await bob.one("/positions"), await alice.one("/positions")

    assert paused.text.splitlines() == [
        f"⏸ User {tid} (Alice) is paused.", "Paused: BTC/USDT, ETH/USDT.", "Reason: too <i>many</i> losses",
        "They were told in their chat.",
    ]  # fmt: skip
    assert "&lt;i&gt;many&lt;/i&gt;" in paused.html
    assert "⏸ BTC/USDT · budget 2,000 USDT · 3x · paused (paused by the operator: too <i>many</i> losses)" in pairs.text
    assert refused.text == "The operator has paused your account; your pairs resume when they lift it."
    assert all(engine.config.paused for engine in world.manager.engines_of(uid))
    assert "BTC/USDT" in bob_positions.text and "BTC/USDT" not in alice_positions.text
    [notice] = [row for row in await _outbox(world.database) if row.user_id == uid]
    assert notice.kind == "operator" and "The operator paused your account" in notice.text

    resumed = await admin.one(f"/resumeuser {tid}")
    await world.run_hours(3)

    assert resumed.text.splitlines() == [
        f"▶️ User {tid} (Alice) is active again.", "Resumed: BTC/USDT, ETH/USDT.", "They were told in their chat."
    ]  # fmt: skip
    assert not any(engine.config.paused for engine in world.manager.engines_of(uid))
    assert "▶️ BTC/USDT · budget 2,000 USDT · 3x · active" in (await alice.one("/pairs")).text
    assert "ETH/USDT" in (await alice.one("/positions")).text
    audited = [(a, d.get("target")) for a, d in await _audit(world.database, admin.actor.telegram_id)]
    assert audited == [("admin_pause_user", tid), ("admin_resume_user", tid)]


async def test_pauseuser_when_arguments_wrong_then_usage_or_a_clear_refusal_and_nothing_changes(
    staff: tuple[World, Chat], telegram_id: Callable[[], int]
) -> None:
    world, admin = staff
    alice = await trader(world, admin, telegram_id(), "Alice", BTC)
    tid, nobody = alice.actor.telegram_id, telegram_id()
    before = await holdings(world.database, tid)

    replies = {
        text: (await admin.one(text)).text
        for text in ("/pauseuser", "/resumeuser", f"/resumeuser {tid} now", "/pauseuser alice", "/pauseuser -3",
                     f"/pauseuser {nobody}", f"/pauseuser <b>{tid}</b>", f"/pauseuser {tid} " + "x " * 150)
    }  # fmt: skip

    assert replies == {
        "/pauseuser": "Usage: /pauseuser <telegram id> [reason]",
        "/resumeuser": "Usage: /resumeuser <telegram id>",
        f"/resumeuser {tid} now": "Usage: /resumeuser <telegram id>",
        "/pauseuser alice": "A Telegram user id is a whole number, like 123456789 (got alice).",
        "/pauseuser -3": "A Telegram user id is a whole number, like 123456789 (got -3).",
        f"/pauseuser {nobody}": f"No user with Telegram id {nobody} is registered. /users lists them.",
        f"/pauseuser <b>{tid}</b>": f"A Telegram user id is a whole number, like 123456789 (got <b>{tid}</b>).",
        f"/pauseuser {tid} " + "x " * 150: "The reason is too long: at most 200 characters.",
    }
    assert await holdings(world.database, tid) == before


async def test_broadcast_when_admin_sends_then_one_escaped_outbox_row_per_user_not_blocked(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin_tid = telegram_id()
    world = _world(fresh_database, admin_tid)
    admin = Chat(router_for(world), Actor(admin_tid, is_admin=True))
    try:
        chats = [Chat(admin.router, Actor(telegram_id(), name=name)) for name in ("Alice", "Bob", "Carol")]
        for chat in chats:
            await chat.send("/start")
        alice, bob, carol = [await _user(fresh_database, chat.actor.telegram_id) for chat in chats]
        async with fresh_database.transaction() as session:
            await UserRepository(session).set_status(carol.id, "blocked")

        sent = await admin.one("/broadcast Upgrade <b>tonight</b> & <script>x</script>")
        empty = await admin.one("/broadcast")

        assert sent.text == "📣 Queued for 2 users; the alert sender delivers it to each of them shortly."
        assert empty.text == "Usage: /broadcast <text...>"
        rows = await _outbox(fresh_database)
        assert sorted(row.user_id for row in rows) == sorted([alice.id, bob.id])
        assert {(row.kind, row.text) for row in rows} == {
            ("broadcast", "<b>📣 Message from the operator</b>\nUpgrade &lt;b&gt;tonight&lt;/b&gt; &amp; "
                          "&lt;script&gt;x&lt;/script&gt;")
        }  # fmt: skip
        [(action, detail)] = await _audit(fresh_database, admin_tid)
        assert action == "admin_broadcast" and detail["recipients"] == 2
    finally:
        await world.close()


async def test_stats_when_admin_asks_then_the_figures_of_the_installation(
    fresh_database: Database, telegram_id: Callable[[], int]
) -> None:
    admin_tid = telegram_id()
    world = _world(fresh_database, admin_tid)
    admin = Chat(router_for(world), Actor(admin_tid, is_admin=True))
    try:
        await trader(world, admin, telegram_id(), "Alice", BTC, ETH)
        bob = await trader(world, admin, telegram_id(), "Bob", BTC)
        await admin.send(f"/pauseuser {bob.actor.telegram_id}")
        await world.run_hours(14)

        stats = await admin.one("/stats")

        assert stats.text.splitlines() == [
            "Quorum stats",
            "Users: 2 (active 1, paused 1, blocked 0)",
            "Pairs: active 2, paused 1",
            "Open positions: 2",
            "Trades today (UTC): 2 opened, 0 closed",
            "Alerts waiting for Telegram: 1",
            "Engines: 3 loaded, 2 trading",
        ]
    finally:
        await world.close()

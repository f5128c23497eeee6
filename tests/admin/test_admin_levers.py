"""`quorum admin pause|resume|reset-breaker|broadcast` on SQLite and PostgreSQL: each changes the rows of the user
named and nobody else's, tells the user through the alert outbox, is audited as the operator, and refuses bad
input in plain words with a non-zero exit. (That a running `quorum run` applies them: test_admin_pickup.py.)"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from db.models import AlertOutbox, AuditLog, User, UserPair, UserState
from db.repositories import PairRepository, UserRepository
from tests.admin.support import Seeded, quorum_admin, read, seeded


def _state(url: str, who: Seeded) -> dict[str, object]:
    """What the CLI may change for one user: status, pairs, breakers, their outbox and the audit rows about them."""

    async def query(session):  # type: ignore[no-untyped-def]
        user = await session.get(User, who.user_id)
        pairs = await session.scalars(select(UserPair).where(UserPair.user_id == who.user_id).order_by(UserPair.id))
        state = await session.scalar(select(UserState).where(UserState.user_id == who.user_id))
        outbox = await session.scalars(select(AlertOutbox).where(AlertOutbox.user_id == who.user_id))
        audit = await session.scalars(select(AuditLog).where(AuditLog.user_id == who.user_id).order_by(AuditLog.id))
        return {
            "status": user.status,
            "pairs": {p.symbol: (p.status, p.status_reason, p.breaker_status) for p in pairs},
            "daily": state.breaker_status if state else None,
            "outbox": [(row.kind, row.text) for row in outbox],
            "audit": [(row.actor, row.action, dict(row.detail)) for row in audit],
        }

    return read(url, query)


def test_pause_then_resume_when_one_user_named_then_only_their_pairs_change_and_they_are_told(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann", "BTC/USDT", "ETH/USDT", "SOL/USDT")
    bob = seeded(db_url, telegram_id(), "Bob", "BTC/USDT")

    async def ann_pauses_sol(session):  # type: ignore[no-untyped-def]
        await PairRepository(session).set_status(ann.user_id, "SOL/USDT", "paused", "paused by the user")

    read(db_url, ann_pauses_sol)
    bob_before = _state(db_url, bob)

    paused = quorum_admin(db_url, "pause", str(ann.telegram_id), "--reason", "KYC <pending>")
    after_pause = _state(db_url, ann)
    resumed = quorum_admin(db_url, "resume", str(ann.telegram_id))
    after_resume = _state(db_url, ann)

    assert paused.exit_code == 0, paused.output
    assert f"user {ann.telegram_id} is paused (was active); paused: BTC/USDT, ETH/USDT." in paused.output
    assert "left as they were: SOL/USDT." in paused.output
    assert "A running `quorum run` applies it at its next configuration refresh" in paused.output
    assert after_pause["status"] == "paused"
    assert after_pause["pairs"] == {
        "BTC/USDT": ("paused", "paused by the operator: KYC <pending>", "running"),
        "ETH/USDT": ("paused", "paused by the operator: KYC <pending>", "running"),
        "SOL/USDT": ("paused", "paused by the user", "running"),
    }
    [(kind, notice)] = after_pause["outbox"]  # type: ignore[misc]
    assert kind == "operator" and "paused your account" in notice and "KYC &lt;pending&gt;" in notice
    assert resumed.exit_code == 0, resumed.output
    assert f"user {ann.telegram_id} is active (was paused); resumed: BTC/USDT, ETH/USDT." in resumed.output
    assert after_resume["status"] == "active"
    assert after_resume["pairs"] == {
        "BTC/USDT": ("active", None, "running"),
        "ETH/USDT": ("active", None, "running"),
        "SOL/USDT": ("paused", "paused by the user", "running"),  # the user's own pause stands
    }
    actions = [(actor.split(":")[0], action) for actor, action, _ in after_resume["audit"]]  # type: ignore[union-attr]
    assert actions == [("admin-cli", "admin_pause_user"), ("admin-cli", "admin_resume_user")]
    assert _state(db_url, bob) == bob_before


def test_pause_when_repeated_or_input_is_bad_then_nothing_more_changes(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann")
    assert quorum_admin(db_url, "pause", str(ann.telegram_id)).exit_code == 0
    before = _state(db_url, ann)

    again = quorum_admin(db_url, "pause", str(ann.telegram_id))
    refusals = {
        ("pause", "12x"): "A Telegram user id is a whole number, like 123456789 (got 12x).",
        ("pause", "424242424242424"): "No user with Telegram id 424242424242424 is registered.",
        ("pause", str(ann.telegram_id), "--reason", "x" * 201): "The reason is too long: at most 200 characters.",
        ("resume", "nobody"): "A Telegram user id is a whole number",
    }

    assert again.exit_code == 0 and "was paused" in again.output and "Nothing changed." in again.output
    for args, expected in refusals.items():
        result = quorum_admin(db_url, *args)
        assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output, args
    after = _state(db_url, ann)
    assert after["pairs"] == before["pairs"] and after["outbox"] == before["outbox"]


def test_pause_when_user_is_blocked_then_refused(db_url: str, telegram_id: Callable[[], int]) -> None:
    ann = seeded(db_url, telegram_id(), "Ann")

    async def block(session):  # type: ignore[no-untyped-def]
        await UserRepository(session).set_status(ann.user_id, "blocked")

    read(db_url, block)
    result = quorum_admin(db_url, "pause", str(ann.telegram_id))

    assert result.exit_code == 1 and "is blocked by the operator" in result.output


def test_reset_breaker_when_confirmed_then_only_that_users_breakers_reset_and_they_are_told(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann", "BTC/USDT", "ETH/USDT", tripped=True)
    bob = seeded(db_url, telegram_id(), "Bob", tripped=True)
    bob_before = _state(db_url, bob)

    declined = quorum_admin(db_url, "reset-breaker", str(ann.telegram_id), stdin="n\n")
    untouched = _state(db_url, ann)
    confirmed = quorum_admin(db_url, "reset-breaker", str(ann.telegram_id), stdin="y\n")
    after = _state(db_url, ann)

    assert declined.exit_code == 1 and "Open circuit breakers" in declined.output and "Aborted" in declined.output
    assert untouched["pairs"]["BTC/USDT"][2] == "open" and untouched["daily"] == "open"  # type: ignore[index]
    assert confirmed.exit_code == 0, confirmed.output
    assert f"user {ann.telegram_id}: reset BTC/USDT, daily loss limit." in confirmed.output
    assert "A running `quorum run` applies it at its next configuration refresh" in confirmed.output
    assert {symbol: row[2] for symbol, row in after["pairs"].items()} == {"BTC/USDT": "running", "ETH/USDT": "running"}  # type: ignore[union-attr]
    assert after["daily"] == "running"
    [(kind, notice)] = after["outbox"]  # type: ignore[misc]
    assert kind == "operator" and "reset your circuit breaker" in notice and "BTC/USDT" in notice
    [(actor, action, detail)] = [row for row in after["audit"] if row[1] == "admin_reset_breaker"]  # type: ignore[union-attr]
    assert actor.startswith("admin-cli:") and detail["applied"] is False
    assert detail["reset"] == ["BTC/USDT", "daily loss limit"]
    assert _state(db_url, bob) == bob_before


def test_reset_breaker_when_nothing_is_open_or_user_unknown_then_refused(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann")

    for args, expected in (
        ((str(ann.telegram_id), "--yes"), f"User {ann.telegram_id} has no open circuit breaker"),
        ((str(ann.telegram_id),), f"User {ann.telegram_id} has no open circuit breaker"),
        (("31415926535", "-y"), "No user with Telegram id 31415926535 is registered."),
        (("pi", "-y"), "A Telegram user id is a whole number"),
    ):
        result = quorum_admin(db_url, "reset-breaker", *args)
        assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output, args
    assert _state(db_url, ann)["outbox"] == []


def test_broadcast_when_sent_then_one_escaped_outbox_row_per_user_not_blocked(fresh_db_url: str) -> None:
    assert quorum_admin(fresh_db_url, "migrate").exit_code == 0
    ann, bob, cid = (seeded(fresh_db_url, 7_200_000 + n, name) for n, name in enumerate(("Ann", "Bob", "Cid")))

    async def block(session):  # type: ignore[no-untyped-def]
        await UserRepository(session).set_status(cid.user_id, "blocked")

    read(fresh_db_url, block)
    result = quorum_admin(fresh_db_url, "broadcast", "Maintenance <tonight> & tomorrow")
    empty = quorum_admin(fresh_db_url, "broadcast", "   ")
    long = quorum_admin(fresh_db_url, "broadcast", "x" * 3501)

    assert result.exit_code == 0 and "queued for 2 users" in result.output
    for who in (ann, bob):
        [(kind, text)] = _state(fresh_db_url, who)["outbox"]  # type: ignore[misc]
        assert kind == "broadcast" and "Maintenance &lt;tonight&gt; &amp; tomorrow" in text
    assert _state(fresh_db_url, cid)["outbox"] == []
    assert empty.exit_code == 1 and "Write the message to send" in empty.output
    assert long.exit_code == 1 and "The message is too long: at most 3500 characters." in long.output

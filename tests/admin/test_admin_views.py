"""`quorum admin users|pairs|trades|stats` on SQLite and PostgreSQL: the tables show each user's rows and no
secret, a user's listing never shows another's rows, and bad input (an id that is not a number, an unknown user,
a bad or foreign symbol, a page of 0, a database that is not migrated or not reachable) is refused in plain
words with a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text

from db.encryption import SecretBox, generate_master_key
from db.models import AuditLog
from db.repositories import AccountRepository
from domain.credentials import ExchangeCredentials
from tests.admin.support import quorum_admin, read, seeded

KEY, SECRET = "AKIAadminviewkey0123456789", "s3cr3t-admin-view-0123456789"


def _plain_refusal(result_output: str, code: int, expected: str, exit_code: int = 1) -> None:
    assert code == exit_code, result_output
    assert expected in result_output, result_output
    assert "Traceback" not in result_output


def test_users_when_listed_then_every_user_with_mode_pairs_and_account_but_never_a_key(fresh_db_url: str) -> None:
    assert quorum_admin(fresh_db_url, "migrate").exit_code == 0
    ann = seeded(fresh_db_url, 7_000_001, "Ann", "BTC/USDT", "ETH/USDT")
    seeded(fresh_db_url, 7_000_002, "Bob")
    box = SecretBox.from_encoded(generate_master_key())

    async def connect_live(session):  # type: ignore[no-untyped-def]
        await AccountRepository(session, box).add_live(ann.user_id, "bybit", ExchangeCredentials(KEY, SECRET))

    read(fresh_db_url, connect_live)
    result = quorum_admin(fresh_db_url, "users")

    assert result.exit_code == 0, result.output
    assert "page 1 of 1 (2 in all)" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    assert set(lines) == {"7000001", "7000002"}
    ann_row = [cell.strip() for cell in lines["7000001"].split("│")]
    assert ann_row[2:7] == ["Ann (@ann)", "paper", "active", "", "2"] and "bybit (spot)" in ann_row[7]
    assert "paper (perpetual, binance" in lines["7000002"]
    assert KEY not in result.output and SECRET not in result.output
    past = quorum_admin(fresh_db_url, "users", "--page", "2")
    assert past.exit_code == 0 and "page 2 of 1 (2 in all)" in past.output and "7000001" not in past.output


def test_users_when_page_is_not_a_positive_number_then_refused_by_the_option(db_url: str) -> None:
    for page in ("0", "x"):
        result = quorum_admin(db_url, "users", "--page", page)
        _plain_refusal(result.output, result.exit_code, "--page", exit_code=2)


def test_pairs_when_one_user_asked_then_only_their_pairs_with_budget_breaker_and_no_heartbeat(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann", "BTC/USDT", "ETH/USDT", tripped=True)
    bob = seeded(db_url, telegram_id(), "Bob", "SOL/USDT")

    mine = quorum_admin(db_url, "pairs", str(ann.telegram_id))
    everyone = quorum_admin(db_url, "pairs", "--page", "1")

    assert mine.exit_code == 0, mine.output
    assert "(2 in all)" in mine.output
    rows = [line for line in mine.output.splitlines() if "/USDT" in line]  # (a long cell wraps onto a second line)
    assert [row.split("│")[2].strip() for row in rows] == ["BTC/USDT", "ETH/USDT"]
    assert all(f"{ann.telegram_id} Ann" in row and "1,000" in row and "2x" in row for row in rows)
    assert "streak until" in rows[0] and "daily loss until" in rows[0]
    assert "streak" not in rows[1] and "daily loss until" in rows[1]  # the owner's limit covers every pair
    assert "no heartbeat" in mine.output and "SOL/USDT" not in mine.output and str(bob.telegram_id) not in mine.output
    assert everyone.exit_code == 0 and "Pairs: page 1 of" in everyone.output


@pytest.mark.parametrize(
    ("argument", "expected"),
    [("abc", "A Telegram user id is a whole number, like 123456789 (got abc)."),
     ("0", "A Telegram user id is a whole number"),
     ("99999999999", "No user with Telegram id 99999999999 is registered. `quorum admin users` lists them.")],
)  # fmt: skip
def test_pairs_and_trades_when_user_is_bad_or_unknown_then_refused(db_url: str, argument: str, expected: str) -> None:
    for command in ("pairs", "trades"):
        result = quorum_admin(db_url, command, argument)
        _plain_refusal(result.output, result.exit_code, expected)


def test_trades_when_listed_then_newest_first_paged_and_filtered_by_symbol_as_typed(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann", "BTC/USDT", "ETH/USDT", trades=3)
    bob = seeded(db_url, telegram_id(), "Bob", trades=2)

    every = quorum_admin(db_url, "trades", str(ann.telegram_id))
    second = quorum_admin(db_url, "trades", str(ann.telegram_id), "--limit", "2", "--page", "2")
    btc = quorum_admin(db_url, "trades", str(ann.telegram_id), "--symbol", "btcusdt")
    eth = quorum_admin(db_url, "trades", str(ann.telegram_id), "--symbol", "ETH-USDT")

    def pnl(output: str) -> list[str]:
        return [line.split("│")[8].strip() for line in output.splitlines() if "BTC/USDT" in line]

    assert every.exit_code == 0, every.output
    assert f"Trades of {ann.telegram_id}, newest first: page 1 of 1 (3 in all)" in every.output
    assert pnl(every.output) == ["+3.00", "+2.00", "+1.00"] and "take profit" in every.output
    assert "page 2 of 2 (3 in all)" in second.output and pnl(second.output) == ["+1.00"]
    assert pnl(btc.output) == ["+3.00", "+2.00", "+1.00"]
    assert eth.exit_code == 0 and "(0 in all)" in eth.output
    assert str(bob.telegram_id) not in every.output


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [("SOL/USDT", "has no SOL/USDT pair. Their pairs: BTC/USDT."), ("b?d", "is not a symbol: write it like BTC/USDT")],
)
def test_trades_when_symbol_is_bad_or_not_theirs_then_refused(
    db_url: str, telegram_id: Callable[[], int], symbol: str, expected: str
) -> None:
    ann = seeded(db_url, telegram_id(), "Ann")
    seeded(db_url, telegram_id(), "Bob", "SOL/USDT")  # someone else's pair reads as missing

    result = quorum_admin(db_url, "trades", str(ann.telegram_id), "--symbol", symbol)

    _plain_refusal(result.output, result.exit_code, expected)


def test_stats_when_read_then_counts_of_the_installation_and_an_audit_row_as_the_operator(fresh_db_url: str) -> None:
    assert quorum_admin(fresh_db_url, "migrate").exit_code == 0
    seeded(fresh_db_url, 7_100_001, "Ann", "BTC/USDT", "ETH/USDT", trades=2)
    seeded(fresh_db_url, 7_100_002, "Bob")

    result = quorum_admin(fresh_db_url, "stats")

    assert result.exit_code == 0, result.output
    assert "2 (active 2, paused 0, blocked 0)" in result.output
    assert "active 3" in result.output and "0 opened" not in result.output.split("Trades today")[0]
    assert "Engines with a heartbeat in the last 5 minutes │ 0" in result.output

    async def audit(session):  # type: ignore[no-untyped-def]
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == "admin_stats")))

    [row] = read(fresh_db_url, audit)
    assert row.actor.startswith("admin-cli:") and row.actor != "admin-cli:0"


def test_commands_when_database_not_migrated_or_unreachable_then_say_what_to_do(
    fresh_db_url: str, tmp_path: Path
) -> None:
    missing_file = f"sqlite+aiosqlite:///{tmp_path / 'nothing-here.db'}"
    unreachable = "postgresql+asyncpg://quorum:hunter2-secret@127.0.0.1:1/quorum"

    async def touch(session):  # type: ignore[no-untyped-def]
        await session.execute(text("SELECT 1"))  # an empty database (SQLite: the file now exists), no schema

    read(fresh_db_url, touch)

    for url, expected in (
        (missing_file, "does not exist: run `quorum admin migrate` to create it"),
        (fresh_db_url, "run `quorum admin migrate` first"),
        (unreachable, "cannot reach the database postgresql+asyncpg://quorum:***@127.0.0.1:1/quorum"),
    ):
        for command in (["users"], ["stats"], ["pairs"], ["pause", "123"], ["broadcast", "hello"]):
            result = quorum_admin(url, *command)
            _plain_refusal(result.output, result.exit_code, expected)
            assert "hunter2-secret" not in result.output
    assert not (tmp_path / "nothing-here.db").exists()


def test_migrate_when_run_twice_then_the_schema_and_on_postgres_the_job_queue_once(fresh_db_url: str) -> None:
    first, second = quorum_admin(fresh_db_url, "migrate"), quorum_admin(fresh_db_url, "migrate")

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "migrated empty -> " in first.output and "already at revision" in second.output
    queue = "procrastinate's job queue schema applied"
    assert (queue in first.output) == fresh_db_url.startswith("postgresql") and queue not in second.output

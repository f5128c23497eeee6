from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from db.database import Database
from db.encryption import (
    DecryptionFailed,
    InvalidMasterKey,
    MasterKeyMissing,
    SecretBox,
    generate_master_key,
)
from db.migrate import upgrade
from db.models import ExchangeAccount
from db.repositories import AccountRepository, UserRepository, rotate_master_key
from domain.credentials import ExchangeCredentials

API_KEY = "AKIAlive-api-key-0123456789abcdef"
API_SECRET = "super-secret-value-ZYXWVUTSRQPONMLKJIHGFEDCBA-987654"


async def _user_with_live_account(
    database: Database,
    box: SecretBox,
    tg: int,
    key: str = API_KEY,
    secret: str = API_SECRET,
    password: str | None = None,
) -> tuple[int, int]:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(tg)
        account = await AccountRepository(session, box).add_live(
            user.id, "binance", ExchangeCredentials(key, secret, password)
        )
        return user.id, account.id


async def test_add_live_when_stored_then_database_holds_no_plaintext(
    database: Database, db_url: str, telegram_id: Callable[[], int]
) -> None:
    box = SecretBox.from_encoded(generate_master_key())
    user_id, account_id = await _user_with_live_account(database, box, telegram_id())

    async with database.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT api_key_enc, api_secret_enc FROM exchange_accounts WHERE id = :id"), {"id": account_id}
            )
        ).one()
    for blob in row:
        assert API_KEY.encode() not in bytes(blob) and API_SECRET.encode() not in bytes(blob)
    if db_url.startswith("sqlite"):
        await database.dispose()  # flush the WAL so the file holds everything written
        raw = Path(db_url.split("///", 1)[1]).read_bytes()
        assert API_KEY.encode() not in raw and API_SECRET.encode() not in raw
    async with database.transaction() as session:
        creds = await AccountRepository(session, box).credentials(user_id, account_id)
        assert creds == ExchangeCredentials(API_KEY, API_SECRET)
        assert API_SECRET not in repr(creds) and API_KEY not in repr(creds) and API_SECRET not in str(creds)
        account = await session.get(ExchangeAccount, account_id)
        assert "enc" not in repr(account)


async def test_add_live_when_no_master_key_then_clear_error_and_paper_still_works(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        accounts = AccountRepository(session, box=None)
        with pytest.raises(MasterKeyMissing, match="QUORUM_MASTER_KEY"):
            await accounts.add_live(user.id, "binance", ExchangeCredentials(API_KEY, API_SECRET))
        paper = await accounts.add_paper(user.id, Decimal("10000"))

    async with database.transaction() as session:
        accounts = await AccountRepository(session).list_for_user(user.id)
        assert [(a.is_paper, a.paper_start_balance) for a in accounts] == [(True, Decimal("10000"))]
        assert paper.api_key_enc is None


async def test_credentials_when_ciphertext_moved_to_another_row_then_refused(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    box = SecretBox.from_encoded(generate_master_key())
    _, victim_account = await _user_with_live_account(database, box, telegram_id())
    thief, thief_account = await _user_with_live_account(database, box, telegram_id(), "thief-key-000000", "x" * 20)

    async with database.transaction() as session:
        victim = await session.get(ExchangeAccount, victim_account)
        mine = await session.get(ExchangeAccount, thief_account)
        mine.api_secret_enc = victim.api_secret_enc

    async with database.transaction() as session:
        with pytest.raises(DecryptionFailed, match="another row"):
            await AccountRepository(session, box).credentials(thief, thief_account)


async def test_rotate_key_when_run_then_secrets_readable_under_new_key_only(fresh_db_url: str) -> None:
    old_encoded, new_encoded = generate_master_key(), generate_master_key()
    old, new = SecretBox.from_encoded(old_encoded), SecretBox.from_encoded(new_encoded)
    database = Database(fresh_db_url)
    try:
        await upgrade(database.engine)
        owners = [
            await _user_with_live_account(
                database, old, 7_000 + i, f"key-{i}-abcdefgh", f"secret-{i}-xyz", f"pass-{i}" if i == 2 else None
            )
            for i in range(3)
        ]
        async with database.transaction() as session:
            await AccountRepository(session).add_paper(owners[0][0], Decimal("5"))

        env = {
            **os.environ,
            "DATABASE_URL": fresh_db_url,
            "QUORUM_MASTER_KEY": old_encoded,
            "QUORUM_NEW_MASTER_KEY": new_encoded,
        }
        result = subprocess.run(
            [sys.executable, "-m", "quorum.cli", "admin", "rotate-key"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "re-encrypted 3 exchange account(s)" in result.stdout
        assert old_encoded not in result.stdout + result.stderr and new_encoded not in result.stdout + result.stderr

        async with database.transaction() as session:
            for i, (user_id, account_id) in enumerate(owners):
                creds = await AccountRepository(session, new).credentials(user_id, account_id)
                assert creds == ExchangeCredentials(
                    f"key-{i}-abcdefgh", f"secret-{i}-xyz", f"pass-{i}" if i == 2 else None
                )
                with pytest.raises(DecryptionFailed, match="different master key"):
                    await AccountRepository(session, old).credentials(user_id, account_id)
    finally:
        await database.dispose()


async def test_rotate_master_key_when_a_row_is_under_an_unknown_key_then_nothing_changes(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    current, stranger, new = (SecretBox.from_encoded(generate_master_key()) for _ in range(3))
    user_id, account_id = await _user_with_live_account(database, current, telegram_id())
    other_user, other_account = await _user_with_live_account(database, stranger, telegram_id())

    with pytest.raises(DecryptionFailed):
        async with database.transaction() as session:
            await rotate_master_key(session, current, new)

    async with database.transaction() as session:  # rolled back whole: still readable under the current key
        assert (await AccountRepository(session, current).credentials(user_id, account_id)).api_key == API_KEY
        assert (await AccountRepository(session, stranger).credentials(other_user, other_account)) is not None


def test_parse_master_key_when_malformed_then_clear_error() -> None:
    with pytest.raises(InvalidMasterKey, match="32 bytes"):
        SecretBox.from_encoded("c2hvcnQ=")
    with pytest.raises(InvalidMasterKey, match="base64"):
        SecretBox.from_encoded("not base64 at all!!")


def test_rotate_key_cli_when_no_new_key_then_fails_without_echoing_the_current_key(tmp_path: Path) -> None:
    current = generate_master_key()
    env = {k: v for k, v in os.environ.items() if k != "QUORUM_NEW_MASTER_KEY"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", QUORUM_MASTER_KEY=current)
    result = subprocess.run(
        [sys.executable, "-m", "quorum.cli", "admin", "rotate-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "QUORUM_NEW_MASTER_KEY" in result.stderr
    assert current not in result.stdout + result.stderr

"""`quorum admin doctor` on SQLite and PostgreSQL, Telegram played by the fake Bot API server over real HTTP: one
plain line per finding (ok / note / missing: what to do), a non-zero exit when something required is missing,
and never a secret on screen (token, master key, stored exchange keys, LLM key, database password)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.encryption import SecretBox, generate_master_key
from db.repositories import AccountRepository
from domain.credentials import ExchangeCredentials
from tests.admin.support import quorum_admin, read, seeded
from tests.fakes.telegram_api import FakeTelegram

KEY, SECRET = "AKIAdoctorkey0123456789", "s3cr3t-doctor-0123456789"
OPENAI = "sk-doctor-test-0123456789abcdef"


def _findings(output: str) -> dict[str, list[tuple[str, str]]]:
    """topic -> [(status, text)] from the doctor's lines."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "note", "missing"):
            topic, text = rest.strip()[:11].strip(), rest.strip()[11:].strip()
            found.setdefault(topic, []).append((status, text))
    return found


def _migrated(url: str) -> str:
    """The database at url brought to the newest schema (a database of its own: a shared one may hold other
    tests' live accounts, which the doctor rightly reports)."""
    assert quorum_admin(url, "migrate").exit_code == 0
    return url


def _with_live_account(url: str, key: str) -> int:
    """A user whose live account's keys are stored encrypted under `key`; returns the account id."""
    who = seeded(url, 7_300_001, "Ann")

    async def connect(session):  # type: ignore[no-untyped-def]
        account = await AccountRepository(session, SecretBox.from_encoded(key)).add_live(
            who.user_id, "binance", ExchangeCredentials(KEY, SECRET)
        )
        return account.id

    return read(url, connect)


async def test_doctor_when_everything_is_in_place_then_all_ok_and_exit_zero(fresh_db_url: str) -> None:
    master = generate_master_key()
    assert (await asyncio.to_thread(quorum_admin, fresh_db_url, "migrate")).exit_code == 0
    await asyncio.to_thread(_with_live_account, fresh_db_url, master)
    async with FakeTelegram() as telegram:
        env = {"QUORUM_MASTER_KEY": master, "TELEGRAM_BOT_TOKEN": telegram.token, "OPENAI_API_KEY": OPENAI,
               "TELEGRAM_API_BASE_URL": telegram.base_url, "ADMIN_TELEGRAM_IDS": "[42]"}  # fmt: skip
        result = await asyncio.to_thread(quorum_admin, fresh_db_url, "doctor", env=env)
        assert telegram.calls["getMe"] == 1

    assert result.exit_code == 0, result.output
    found = _findings(result.output)
    assert {topic: [status for status, _ in lines] for topic, lines in found.items()} == {
        "settings": ["ok"], "database": ["ok"], "master key": ["ok"], "telegram": ["ok"], "analysts": ["ok"],
    }  # fmt: skip
    assert "schema at the newest revision" in found["database"][0][1]
    assert found["master key"][0][1] == "QUORUM_MASTER_KEY is valid; 1 stored credential(s) decrypt"
    assert "bot @quorum_test_bot (polling)" in found["telegram"][0][1]
    assert found["analysts"][0][1] == "4 vote: openai (gpt-4o-mini), trend, mean_reversion, breakout"
    assert "Quorum has what it needs to run." in result.output
    for secret in (master, telegram.token, KEY, SECRET, OPENAI):
        assert secret not in result.output


@pytest.mark.parametrize(
    ("token", "base", "expected"),
    [
        ("123456789:WRONG-token-for-the-fake-0000000000", None, "Telegram refused TELEGRAM_BOT_TOKEN (401): copy"),
        (None, "http://127.0.0.1:9/bot", "cannot reach TELEGRAM_API_BASE_URL http://127.0.0.1:9/bot (ConnectError)"),
    ],
)
async def test_doctor_when_telegram_refuses_the_token_or_is_unreachable_then_missing(
    fresh_db_url: str, token: str | None, base: str | None, expected: str
) -> None:
    db_url = await asyncio.to_thread(_migrated, fresh_db_url)
    async with FakeTelegram() as telegram:
        env = {"TELEGRAM_BOT_TOKEN": token or telegram.token, "TELEGRAM_API_BASE_URL": base or telegram.base_url}
        result = await asyncio.to_thread(quorum_admin, db_url, "doctor", env=env)

    assert result.exit_code == 1
    [(status, text)] = _findings(result.output)["telegram"][:1]
    assert status == "missing" and expected in text, result.output
    assert (token or telegram.token) not in result.output
    assert "1 thing(s) missing" in result.output


def test_doctor_when_nothing_optional_is_set_then_notes_say_what_each_would_add(fresh_db_url: str) -> None:
    result = quorum_admin(_migrated(fresh_db_url), "doctor")

    assert result.exit_code == 0, result.output
    found = _findings(result.output)
    assert found["master key"] == [("note", "QUORUM_MASTER_KEY is not set: paper trading only; set one (`quorum "
                                    "admin generate-key`) before anyone connects live exchange keys")]  # fmt: skip
    assert [status for status, _ in found["telegram"]] == ["note", "note"]
    assert "TELEGRAM_BOT_TOKEN is not set: `quorum run` opens a chat in the terminal" in found["telegram"][0][1]
    assert "ADMIN_TELEGRAM_IDS is empty" in found["telegram"][1][1]
    assert found["analysts"][0][0] == "note" and "only the offline analysts vote" in found["analysts"][0][1]


def test_doctor_when_stored_keys_do_not_decrypt_or_the_key_is_missing_or_malformed_then_missing(
    fresh_db_url: str,
) -> None:
    assert quorum_admin(fresh_db_url, "migrate").exit_code == 0
    saved_with = generate_master_key()
    account = _with_live_account(fresh_db_url, saved_with)

    cases = {
        generate_master_key(): f"1 of 1 stored credential(s) do not decrypt under QUORUM_MASTER_KEY (exchange "
        f"accounts {account}): set the key they were saved with",
        "": "QUORUM_MASTER_KEY is not set but 1 exchange account(s) hold encrypted keys",
        "not-base64!": "QUORUM_MASTER_KEY is not valid base64: make a new one with `quorum admin generate-key`",
    }
    for key, expected in cases.items():
        result = quorum_admin(fresh_db_url, "doctor", env={"QUORUM_MASTER_KEY": key})
        assert result.exit_code == 1, result.output
        [(status, text)] = _findings(result.output)["master key"]
        assert status == "missing" and expected in text, text
        for secret in (saved_with, KEY, SECRET):
            assert secret not in result.output
        if key:
            assert key not in result.output


def test_doctor_when_database_is_empty_missing_or_unreachable_then_says_what_to_run(
    fresh_db_url: str, tmp_path: Path
) -> None:
    async def touch(session):  # type: ignore[no-untyped-def]
        from sqlalchemy import text

        await session.execute(text("SELECT 1"))

    read(fresh_db_url, touch)
    cases = {
        fresh_db_url: ("schema", "the database is empty, this Quorum needs"),
        f"sqlite+aiosqlite:///{tmp_path / 'none.db'}": ("database", "does not exist: run `quorum admin migrate`"),
        "postgresql+asyncpg://quorum:pw-hunter2@127.0.0.1:1/quorum": (
            "database", "cannot reach postgresql+asyncpg://quorum:***@127.0.0.1:1/quorum"
        ),
    }  # fmt: skip
    for url, (topic, expected) in cases.items():
        result = quorum_admin(url, "doctor")
        assert result.exit_code == 1, result.output
        assert any(s == "missing" and expected in t for s, t in _findings(result.output)[topic]), result.output
        assert "pw-hunter2" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()


def test_doctor_when_fewer_analysts_vote_than_a_decision_needs_then_missing(db_url: str) -> None:
    result = quorum_admin(db_url, "doctor", env={"AI_MIN_RESPONDERS": "4", "OFFLINE_ANALYSTS": '["trend", "breakout"]'})

    assert result.exit_code == 1
    assert ("missing", "2 analyst(s) vote but AI_MIN_RESPONDERS / AI_MIN_CONSENSUS ask for 4: no cycle can reach a "
            "decision; add analysts or lower them") in _findings(result.output)["analysts"]  # fmt: skip


def test_doctor_when_a_setting_is_invalid_then_names_it_without_a_traceback(db_url: str) -> None:
    result = quorum_admin(db_url, "doctor", env={"LOG_FORMAT": "xml"})

    assert result.exit_code == 1
    assert "the settings do not load: LOG_FORMAT:" in result.output and "must be text or json" in result.output
    assert "Traceback" not in result.output

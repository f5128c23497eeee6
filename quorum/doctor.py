"""`quorum admin doctor`: what this installation has and lacks, in plain words, without printing a secret.

Each check gives findings: `ok`, `note` (works, but worth knowing) or `missing` (Quorum cannot do its job until
it is fixed; the command then exits non-zero). Checked: the settings load; the database answers and is at the
newest schema; the master key is valid and every stored exchange credential decrypts under it (their values
are never shown); the Telegram token is accepted by getMe at TELEGRAM_API_BASE_URL; which analysts will vote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select, text

from adapters.ai.factory import configured_llms
from config.settings import Settings
from db.database import Database, safe_url
from db.encryption import DecryptionFailed, InvalidMasterKey
from db.migrate import current_revision, head_revision
from db.models import ExchangeAccount
from db.repositories import AccountRepository
from quorum.admin_service import sqlite_file
from quorum.log import redact, register_secret
from quorum.runtime import secret_box

OK, NOTE, MISSING = "ok", "note", "missing"
TELEGRAM_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    status: str  # ok | note | missing
    topic: str
    text: str


async def diagnose(settings: Settings) -> list[Finding]:
    findings = [_settings_found()]
    database = Database(settings.database_url)
    try:
        migrated = await _database(database, findings)
        findings += await _master_key(settings, database if migrated else None)
    finally:
        await database.dispose()
    findings += await _telegram(settings)
    findings += _analysts(settings)
    return findings


def _settings_found() -> Finding:
    env = Path(".env")
    where = f"the environment and {env.resolve()}" if env.is_file() else "the environment (no .env here)"
    return Finding(OK, "settings", f"loaded from {where}, defaults for the rest")


async def _database(database: Database, findings: list[Finding]) -> bool:
    """True when the database answers and is at the newest schema."""
    where = safe_url(database.url)
    file = sqlite_file(database.url)
    if file is not None and not file.is_file():  # connecting would create an empty file
        findings.append(Finding(MISSING, "database", f"the SQLite file {file} does not exist: run `quorum admin "
                                "migrate` to create it, or point DATABASE_URL at your database"))  # fmt: skip
        return False
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await current_revision(database.engine)
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the database cannot be used
        reason = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:200]
        findings.append(Finding(MISSING, "database", f"cannot reach {where} ({reason}): start the database or fix "
                                "DATABASE_URL"))  # fmt: skip
        return False
    head = head_revision()
    kind = f"{where} (SQLite: one machine; PostgreSQL is the production choice)" if file is not None else where
    if current == head:
        findings.append(Finding(OK, "database", f"{kind} answers, schema at the newest revision ({head})"))
        return True
    findings.append(Finding(OK, "database", f"{kind} answers"))
    state = "is empty" if current is None else f"is at revision {current}"
    findings.append(Finding(MISSING, "schema", f"the database {state}, this Quorum needs {head}: run "
                            "`quorum admin migrate` (`quorum run` also migrates when it starts)"))  # fmt: skip
    return False


async def _master_key(settings: Settings, database: Database | None) -> list[Finding]:
    stored: list[ExchangeAccount] = []
    if database is not None:
        async with database.transaction() as session:
            stored = list(
                await session.scalars(
                    select(ExchangeAccount).where(ExchangeAccount.api_key_enc.is_not(None)).order_by(ExchangeAccount.id)
                )
            )
    try:
        box = secret_box(settings)
    except InvalidMasterKey as exc:
        return [Finding(MISSING, "master key", f"{exc}: make a new one with `quorum admin generate-key` (stored "
                        "credentials need the key they were saved with)")]  # fmt: skip
    if box is None:
        if stored:
            return [Finding(MISSING, "master key", f"QUORUM_MASTER_KEY is not set but {len(stored)} exchange "
                            "account(s) hold encrypted keys: set the key they were saved with")]  # fmt: skip
        return [Finding(NOTE, "master key", "QUORUM_MASTER_KEY is not set: paper trading only; set one "
                        "(`quorum admin generate-key`) before anyone connects live exchange keys")]  # fmt: skip
    if database is None:
        return [Finding(OK, "master key", "QUORUM_MASTER_KEY is a valid key (stored credentials not checked: "
                        "the database is not ready)")]  # fmt: skip
    failed = []
    async with database.transaction() as session:
        accounts = AccountRepository(session, box)
        for account in stored:
            try:
                await accounts.credentials(account.user_id, account.id)  # decrypted and dropped, never shown
            except DecryptionFailed:
                failed.append(account.id)
    if failed:
        ids = ", ".join(str(i) for i in failed)
        return [Finding(MISSING, "master key", f"{len(failed)} of {len(stored)} stored credential(s) do not decrypt "
                        f"under QUORUM_MASTER_KEY (exchange accounts {ids}): set the key they were saved with, or "
                        "have those users /connect again")]  # fmt: skip
    return [Finding(OK, "master key", f"QUORUM_MASTER_KEY is valid; {len(stored)} stored credential(s) decrypt")]


async def _telegram(settings: Settings) -> list[Finding]:
    notes = []
    if not settings.admin_telegram_ids:
        notes.append(Finding(NOTE, "telegram", "ADMIN_TELEGRAM_IDS is empty: nobody can use /users, /stats, "
                             "/pauseuser or /broadcast in a chat (this CLI still can)"))  # fmt: skip
    if settings.telegram_bot_token is None:
        return [Finding(NOTE, "telegram", "TELEGRAM_BOT_TOKEN is not set: `quorum run` opens a chat in the terminal "
                        "instead of the bot; get a token from @BotFather to run on Telegram")] + notes  # fmt: skip
    token = settings.telegram_bot_token.get_secret_value()
    register_secret(token)
    base = settings.telegram_api_base_url
    try:
        async with httpx.AsyncClient(timeout=TELEGRAM_TIMEOUT_S) as client:
            response = await client.get(f"{base}{token}/getMe")
    except httpx.HTTPError as exc:
        return [Finding(MISSING, "telegram", f"cannot reach TELEGRAM_API_BASE_URL {base} ({type(exc).__name__}): "
                        "check the network, a proxy or the URL")] + notes  # fmt: skip
    if response.status_code in (401, 404):
        return [Finding(MISSING, "telegram", f"Telegram refused TELEGRAM_BOT_TOKEN ({response.status_code}): copy "
                        "the token from @BotFather again")] + notes  # fmt: skip
    body = _json(response)
    if response.status_code != 200 or not body.get("ok"):
        return [Finding(MISSING, "telegram", f"getMe at {base} answered {response.status_code}: try again later, "
                        "or check TELEGRAM_API_BASE_URL")] + notes  # fmt: skip
    result = body.get("result")
    username = result.get("username", "?") if isinstance(result, dict) else "?"
    how = f"webhook at {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "polling"
    return [Finding(OK, "telegram", f"the token is accepted: bot @{username} ({how})")] + notes


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _analysts(settings: Settings) -> list[Finding]:
    llms = configured_llms(settings)
    voters = [f"{name} ({model})" for name, model in llms] + list(settings.offline_analysts)
    findings = []
    if not voters:
        return [Finding(MISSING, "analysts", "no analyst votes: set an LLM key or OFFLINE_ANALYSTS")]
    needed = max(settings.ai_min_responders, settings.ai_min_consensus)
    if len(voters) < needed:
        findings.append(Finding(MISSING, "analysts", f"{len(voters)} analyst(s) vote but AI_MIN_RESPONDERS / "
                                f"AI_MIN_CONSENSUS ask for {needed}: no cycle can reach a decision; add analysts "
                                "or lower them"))  # fmt: skip
    if llms:
        findings.append(Finding(OK, "analysts", f"{len(voters)} vote: {', '.join(voters)}"))
    else:
        findings.append(Finding(NOTE, "analysts", f"no LLM key: only the offline analysts vote ({', '.join(voters)}); "
                                "set OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY or "
                                "OPENAI_COMPATIBLE_BASE_URL to add LLM analysts"))  # fmt: skip
    return findings

"""Who may make an admin call, and how it is written to the audit log: shared by every admin call
(engine/service_admin.py, engine/service_admin_pairs.py).

Two kinds of caller pass:
- an admin from a chat: their Telegram id is in ADMIN_TELEGRAM_IDS, or their own user row says is_admin (and is
  not blocked);
- the operator at the admin CLI (`quorum admin ...`): the call names OPERATOR as the acting id, and only a service
  built with `operator=<name>` accepts it. That service is built by the CLI alone, in the operator's own process,
  with the database credentials in hand, so no chat transport can pass as the operator (a chat's ids are
  positive Telegram ids, never OPERATOR).

The audit actor is `<channel>:<telegram id>` for an admin and `<channel>:<operator name>` for the operator
(admin-cli:alice).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.repositories import AuditRepository, UserRepository
from engine.service_context import ServiceContext
from engine.service_errors import InvalidInput, NotAnAdmin
from engine.service_inputs import shown

OPERATOR = 0  # the acting id of the operator at the admin CLI; never a Telegram user's id


def target_id(raw: object) -> int:
    """The Telegram id of the user an admin call is about, or a refusal that says how to write one."""
    refusal = f"A Telegram user id is a whole number, like 123456789 (got {shown(raw)})."
    if isinstance(raw, bool):
        raise InvalidInput(refusal)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 15:
        value = int(raw.strip())
    else:
        raise InvalidInput(refusal)
    if value <= 0:
        raise InvalidInput(refusal)
    return value


def plain(value: object) -> object:
    """An audit detail value as JSON holds it: whole numbers, booleans and None as they are, the rest as text."""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return value if isinstance(value, (int, type(None))) else str(value)


def name_of(user: User) -> str | None:
    return user.display_name or user.username


class AdminAccess:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def _admin(self, session: AsyncSession, telegram_id: int) -> User | None:
        """The admin's own user row (None when they never registered, and for the operator), or NotAnAdmin."""
        if isinstance(telegram_id, bool) or not isinstance(telegram_id, int):
            raise NotAnAdmin()
        if telegram_id == OPERATOR:
            if self.ctx.operator is None:
                raise NotAnAdmin()
            return None
        row = await UserRepository(session).by_telegram_id(telegram_id)
        if telegram_id in self.ctx.settings.admin_telegram_ids:
            return row
        if row is not None and row.is_admin and row.status != "blocked":
            return row
        raise NotAnAdmin()

    async def _target(self, session: AsyncSession, telegram_id: int, raw: object, *, lock: bool = False) -> User:
        """The user an admin call (by `telegram_id`) is about; a refusal naming the id when nobody has it."""
        wanted = target_id(raw)
        users = UserRepository(session)
        user = await (users.lock_by_telegram_id(wanted) if lock else users.by_telegram_id(wanted))
        if user is None:
            where = "`quorum admin users`" if telegram_id == OPERATOR else "/users"
            raise InvalidInput(f"No user with Telegram id {wanted} is registered. {where} lists them.")
        return user

    async def _audit(
        self, session: AsyncSession, telegram_id: int, action: str, user_id: int | None, **detail: Any
    ) -> None:
        """actor: the admin (or the operator); user_id: whose rows changed (the target), else the admin's own row."""
        who = self.ctx.operator if telegram_id == OPERATOR and self.ctx.operator else telegram_id
        actor = f"{self.ctx.channel}:{who}"[:64]
        safe = {key: plain(value) for key, value in detail.items()}
        await AuditRepository(session).record(actor, action, user_id, None, safe)

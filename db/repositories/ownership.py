"""Ownership checks for writes that name another row: the database refuses a cross-user reference too (composite
keys, see db.models), but a write should fail early and say why rather than surface as an IntegrityError."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExchangeAccount, OrderRow, UserPair


class NotOwned(PermissionError):
    """A write referred to an account, pair or order that is not the user's; nothing was written."""

    def __init__(self, kind: str, row_id: int, user_id: int) -> None:
        super().__init__(f"{kind} {row_id} does not belong to user {user_id}")


async def _require(
    session: AsyncSession, model: type[ExchangeAccount | UserPair | OrderRow], kind: str, user_id: int, row_id: int
) -> None:
    found = await session.scalar(select(model.id).where(model.id == row_id, model.user_id == user_id))
    if found is None:  # missing or another user's: the same answer, so ids of other users' rows never leak
        raise NotOwned(kind, row_id, user_id)


async def require_account(session: AsyncSession, user_id: int, account_id: int | None) -> None:
    if account_id is not None:
        await _require(session, ExchangeAccount, "exchange account", user_id, account_id)


async def require_pair(session: AsyncSession, user_id: int, pair_id: int | None) -> None:
    if pair_id is not None:
        await _require(session, UserPair, "pair", user_id, pair_id)


async def require_order(session: AsyncSession, user_id: int, order_id: int | None) -> None:
    if order_id is not None:
        await _require(session, OrderRow, "order", user_id, order_id)

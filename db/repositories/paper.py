from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database
from db.models import PaperLedger
from db.repositories.ownership import require_account
from domain.money import utc_now


class PaperLedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, user_id: int, account_id: int) -> dict[str, Any] | None:
        row = await self.session.scalar(
            select(PaperLedger).where(PaperLedger.account_id == account_id, PaperLedger.user_id == user_id)
        )
        return dict(row.state) if row is not None else None

    async def save(self, user_id: int, account_id: int, state: dict[str, Any]) -> None:
        await require_account(self.session, user_id, account_id)
        row = await self.session.scalar(
            select(PaperLedger).where(PaperLedger.account_id == account_id, PaperLedger.user_id == user_id)
        )
        if row is None:
            self.session.add(PaperLedger(account_id=account_id, user_id=user_id, state=state))
        else:
            row.state = state
            row.updated_at = utc_now()
        await self.session.flush()


class DbPaperStateStore:
    """The paper exchange's state store (load/save of a JSON-safe dict) backed by the paper_ledgers table."""

    def __init__(self, database: Database, user_id: int, account_id: int) -> None:
        self._database = database
        self.user_id = user_id
        self.account_id = account_id

    async def load(self) -> dict[str, Any] | None:
        async with self._database.transaction() as session:
            return await PaperLedgerRepository(session).load(self.user_id, self.account_id)

    async def save(self, state: dict[str, Any]) -> None:
        async with self._database.transaction() as session:
            await PaperLedgerRepository(session).save(self.user_id, self.account_id, state)

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.encryption import MasterKeyMissing, SecretBox
from db.models import ExchangeAccount
from db.repositories.results import rowcount
from domain.credentials import ExchangeCredentials
from domain.money import utc_now


def _context(account_id: int, user_id: int, column: str) -> str:
    return f"exchange_accounts:{account_id}:{user_id}:{column}"


class AccountRepository:
    """Exchange accounts. Credentials go in encrypted and come out only through `credentials()`."""

    def __init__(self, session: AsyncSession, box: SecretBox | None = None) -> None:
        self.session = session
        self._box = box

    async def add_paper(
        self, user_id: int, start_balance: Decimal, exchange: str = "paper", market_type: str = "spot"
    ) -> ExchangeAccount:
        if start_balance <= 0:
            raise ValueError("a paper account needs a positive starting balance")
        account = ExchangeAccount(
            user_id=user_id,
            exchange=exchange,
            market_type=market_type,
            is_paper=True,
            paper_start_balance=start_balance,
        )
        self.session.add(account)
        await self.session.flush()
        return account

    async def add_live(
        self,
        user_id: int,
        exchange: str,
        credentials: ExchangeCredentials,
        testnet: bool = False,
        market_type: str = "spot",
    ) -> ExchangeAccount:
        if self._box is None:
            raise MasterKeyMissing()
        account = ExchangeAccount(
            user_id=user_id, exchange=exchange, market_type=market_type, is_paper=False, testnet=testnet
        )
        self.session.add(account)
        await self.session.flush()  # the row id is part of the associated data
        account.api_key_enc = self._box.encrypt(credentials.api_key, _context(account.id, user_id, "api_key"))
        account.api_secret_enc = self._box.encrypt(credentials.secret, _context(account.id, user_id, "api_secret"))
        if credentials.password:
            account.api_password_enc = self._box.encrypt(
                credentials.password, _context(account.id, user_id, "api_password")
            )
        await self.session.flush()
        return account

    async def get(self, user_id: int, account_id: int) -> ExchangeAccount | None:
        return await self.session.scalar(
            select(ExchangeAccount).where(ExchangeAccount.id == account_id, ExchangeAccount.user_id == user_id)
        )

    async def active(self, user_id: int) -> ExchangeAccount | None:
        """The account new pairs trade on: the newest active one."""
        return await self.session.scalar(
            select(ExchangeAccount)
            .where(ExchangeAccount.user_id == user_id, ExchangeAccount.is_active.is_(True))
            .order_by(ExchangeAccount.id.desc())
            .limit(1)
        )

    async def list_for_user(self, user_id: int) -> list[ExchangeAccount]:
        return list(
            await self.session.scalars(
                select(ExchangeAccount).where(ExchangeAccount.user_id == user_id).order_by(ExchangeAccount.id)
            )
        )

    async def deactivate_all(self, user_id: int) -> int:
        result = await self.session.execute(
            update(ExchangeAccount)
            .where(ExchangeAccount.user_id == user_id, ExchangeAccount.is_active.is_(True))
            .values(is_active=False, updated_at=utc_now())
        )
        return rowcount(result)

    async def credentials(self, user_id: int, account_id: int) -> ExchangeCredentials | None:
        account = await self.get(user_id, account_id)
        if account is None or account.is_paper or account.api_key_enc is None or account.api_secret_enc is None:
            return None
        if self._box is None:
            raise MasterKeyMissing()
        password = None
        if account.api_password_enc is not None:
            password = self._box.decrypt(account.api_password_enc, _context(account.id, user_id, "api_password"))
        return ExchangeCredentials(
            api_key=self._box.decrypt(account.api_key_enc, _context(account.id, user_id, "api_key")),
            secret=self._box.decrypt(account.api_secret_enc, _context(account.id, user_id, "api_secret")),
            password=password,
        )


async def rotate_master_key(session: AsyncSession, old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt every stored credential under `new`, in the caller's single transaction.

    Any row that does not decrypt under `old` aborts the whole rotation (DecryptionFailed), so the table is
    never left half under one key and half under another. Returns the number of accounts re-encrypted.
    """
    rows = await session.scalars(
        select(ExchangeAccount).where(ExchangeAccount.api_key_enc.is_not(None)).with_for_update()
    )
    count = 0
    for account in rows:
        for column in ("api_key", "api_secret", "api_password"):
            blob = getattr(account, f"{column}_enc")
            if blob is None:
                continue
            context = _context(account.id, account.user_id, column)
            setattr(account, f"{column}_enc", new.encrypt(old.decrypt(blob, context), context))
        account.updated_at = utc_now()
        count += 1
    await session.flush()
    return count

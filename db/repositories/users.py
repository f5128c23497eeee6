from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExchangeAccount, User, UserState
from db.repositories.results import rowcount
from domain.money import utc_now

USER_STATUSES = ("active", "paused", "blocked")


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(
        self, telegram_id: int, username: str | None = None, display_name: str | None = None, is_admin: bool = False
    ) -> tuple[User, bool]:
        """The user with this Telegram id, created with an empty state row on first sight; (user, created)."""
        existing = await self.by_telegram_id(telegram_id)
        if existing is not None:
            if username and existing.username != username:
                existing.username = username
                existing.updated_at = utc_now()
            return existing, False
        user = User(
            telegram_id=telegram_id, username=username, display_name=display_name, is_admin=is_admin, settings={}
        )
        try:
            async with self.session.begin_nested():
                self.session.add(user)
                await self.session.flush()
        except IntegrityError:  # the same person pressed /start twice at once: the other request registered them
            existing = await self.by_telegram_id(telegram_id)
            if existing is None:
                raise
            return existing, False
        self.session.add(UserState(user_id=user.id, breaker={}))
        await self.session.flush()
        return user, True

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.session.scalar(select(User).where(User.telegram_id == telegram_id))

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def lock_by_telegram_id(self, telegram_id: int) -> User | None:
        """The user row, locked until the transaction ends (PostgreSQL; SQLite serialises writers anyway), so
        two processes' changes for one user queue up instead of both passing the same check."""
        return await self.session.scalar(select(User).where(User.telegram_id == telegram_id).with_for_update())

    async def set_settings(self, user_id: int, settings: dict[str, Any]) -> User | None:
        """Replace users.settings (a JSON column: assigning a new dict is what marks it changed)."""
        user = await self.get(user_id)
        if user is not None:
            user.settings = dict(settings)
            user.updated_at = utc_now()
            await self.session.flush()
        return user

    async def set_display_name(self, user_id: int, display_name: str | None) -> User | None:
        user = await self.get(user_id)
        if user is not None:
            user.display_name = display_name
            user.updated_at = utc_now()
            await self.session.flush()
        return user

    async def standings(self) -> list[tuple[User, UserState | None, ExchangeAccount | None]]:
        """Every user with their figures and their active account, one row per user (the newest active account):
        the leaderboard's raw material. Callers keep only those who opted in, and show names, never ids."""
        result = await self.session.execute(
            select(User, UserState, ExchangeAccount)
            .outerjoin(UserState, UserState.user_id == User.id)
            .outerjoin(ExchangeAccount, (ExchangeAccount.user_id == User.id) & ExchangeAccount.is_active.is_(True))
            .order_by(User.id, ExchangeAccount.id.desc())
        )
        rows: dict[int, tuple[User, UserState | None, ExchangeAccount | None]] = {}
        for user, state, account in result:
            rows.setdefault(user.id, (user, state, account))
        return list(rows.values())

    async def list_all(self) -> list[User]:
        """Operator view (admin CLI); not reachable from a user's chat."""
        return list(await self.session.scalars(select(User).order_by(User.id)))

    async def set_status(self, user_id: int, status: str) -> User | None:
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(USER_STATUSES)}")
        user = await self.get(user_id)
        if user is not None:
            user.status = status
            user.updated_at = utc_now()
        return user

    async def set_mode(self, user_id: int, mode: str) -> User | None:
        if mode not in ("paper", "live"):
            raise ValueError("mode must be paper or live")
        user = await self.get(user_id)
        if user is not None:
            user.mode = mode
            user.live_confirmed_at = utc_now() if mode == "live" else None
            user.updated_at = utc_now()
        return user

    async def delete(self, user_id: int) -> bool:
        """Delete a user and, through ON DELETE CASCADE, every row that belongs to them."""
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return rowcount(result) > 0

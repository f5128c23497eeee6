from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import UserPair
from db.repositories.ownership import require_account
from db.repositories.results import rowcount
from domain.money import utc_now

PAIR_STATUSES = ("active", "paused", "stopped", "error")


class PairExists(Exception):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"{symbol} is already in your pairs; use /removepair {symbol} first to change it")


class PairRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, user_id: int, symbol: str, budget: Decimal, leverage: int = 1, account_id: int | None = None
    ) -> UserPair:
        if budget <= 0:
            raise ValueError("budget must be positive")
        if leverage < 1:
            raise ValueError("leverage must be at least 1")
        await require_account(self.session, user_id, account_id)
        pair = UserPair(
            user_id=user_id,
            symbol=symbol,
            budget=budget,
            leverage=leverage,
            account_id=account_id,
            risk_overrides={},
            breaker={},
        )
        try:
            async with self.session.begin_nested():
                self.session.add(pair)
                await self.session.flush()
        except IntegrityError:
            raise PairExists(symbol) from None
        return pair

    async def get(self, user_id: int, symbol: str) -> UserPair | None:
        return await self.session.scalar(select(UserPair).where(UserPair.user_id == user_id, UserPair.symbol == symbol))

    async def get_by_id(self, user_id: int, pair_id: int) -> UserPair | None:
        """The pair with this id if it is the user's; another user's pair reads as missing."""
        return await self.session.scalar(select(UserPair).where(UserPair.id == pair_id, UserPair.user_id == user_id))

    async def reactivate(
        self, user_id: int, symbol: str, budget: Decimal, leverage: int, account_id: int | None
    ) -> UserPair | None:
        """A stopped (removed) pair added again: new budget, leverage and account, active, no pair overrides.
        The row keeps its history (trades, decisions, equity), its breaker and its exactly-once guard."""
        if budget <= 0:
            raise ValueError("budget must be positive")
        if leverage < 1:
            raise ValueError("leverage must be at least 1")
        await require_account(self.session, user_id, account_id)
        return await self._update(
            user_id,
            symbol,
            budget=budget,
            leverage=leverage,
            account_id=account_id,
            status="active",
            status_reason=None,
            risk_overrides={},
        )

    async def list_for_user(self, user_id: int) -> list[UserPair]:
        return list(
            await self.session.scalars(select(UserPair).where(UserPair.user_id == user_id).order_by(UserPair.symbol))
        )

    async def all_active(self) -> list[UserPair]:
        """Every active pair of every user: what the MultiPairManager starts engines for."""
        return list(
            await self.session.scalars(
                select(UserPair).where(UserPair.status == "active").order_by(UserPair.user_id, UserPair.symbol)
            )
        )

    async def all_with_status(self, statuses: tuple[str, ...]) -> list[UserPair]:
        """Every pair of every user in one of these statuses (operator and engine-runtime use only)."""
        return list(
            await self.session.scalars(
                select(UserPair).where(UserPair.status.in_(statuses)).order_by(UserPair.user_id, UserPair.symbol)
            )
        )

    async def remove(self, user_id: int, symbol: str) -> bool:
        result = await self.session.execute(
            delete(UserPair).where(UserPair.user_id == user_id, UserPair.symbol == symbol)
        )
        return rowcount(result) > 0

    async def set_status(self, user_id: int, symbol: str, status: str, reason: str | None = None) -> UserPair | None:
        """active clears the reason; paused / error / stopped keep why."""
        if status not in PAIR_STATUSES:
            raise ValueError(f"status must be one of {', '.join(PAIR_STATUSES)}")
        return await self._update(user_id, symbol, status=status, status_reason=None if status == "active" else reason)

    async def set_risk_overrides(self, user_id: int, symbol: str, overrides: dict[str, Any]) -> UserPair | None:
        return await self._update(user_id, symbol, risk_overrides=dict(overrides))

    async def save_breaker(self, user_id: int, symbol: str, state: dict[str, Any], status: str) -> UserPair | None:
        """Persist the pair's circuit-breaker state (risk.CircuitBreaker serialised to a JSON-safe dict)."""
        return await self._update(user_id, symbol, breaker=dict(state), breaker_status=status)

    async def _update(self, user_id: int, symbol: str, **values: Any) -> UserPair | None:
        pair = await self.get(user_id, symbol)
        if pair is None:
            return None
        for name, value in values.items():
            setattr(pair, name, value)
        pair.updated_at = utc_now()
        await self.session.flush()
        return pair

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import UserState
from domain.money import utc_now

_FIELDS = frozenset(
    {
        "balance",
        "equity",
        "realized_pnl",
        "unrealized_pnl",
        "peak_equity",
        "day_start_equity",
        "day",
        "trades_today",
        "breaker",
        "breaker_status",
    }
)


class UserStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> UserState | None:
        return await self.session.get(UserState, user_id)

    async def update(self, user_id: int, **values: Any) -> UserState:
        unknown = set(values) - _FIELDS
        if unknown:
            raise ValueError(f"unknown user state fields: {', '.join(sorted(unknown))}")
        state = await self.get(user_id)
        if state is None:
            state = UserState(user_id=user_id, breaker={})
            self.session.add(state)
        for name, value in values.items():
            setattr(state, name, value)
        state.updated_at = utc_now()
        await self.session.flush()
        return state

"""What an admin (or the operator at the admin CLI) can see of the users' pairs and trades, and resetting a user's
circuit breakers. Who may call, and the audit rows: engine/service_admin_access.py.

Reading needs no engine: the engines store every position, breaker transition and heartbeat as it happens.
A breaker reset goes to the running engines of this process at once (ManagerControl.resume_breaker, as a user's
own /resumebreaker) and to the database; from another process (the admin CLI) only the database changes, and a
running `quorum run` applies it to its engines at its next configuration refresh (engine/operator_resets.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, UserPair
from db.repositories import HeartbeatRepository, PairRepository, TradeRepository, UserStateRepository
from db.repositories.outbox import OutboxRepository
from domain.money import ms_to_datetime, utc_now
from engine.control import EngineControl
from engine.operator_resets import RESET_BREAKER
from engine.service_admin_access import AdminAccess, name_of, target_id
from engine.service_context import live_pairs
from engine.service_errors import InvalidInput
from engine.service_inputs import match_symbol, parse_whole, shown, symbol_text
from engine.service_pairs import open_position
from engine.service_reports import TradePage
from engine.service_trading import BreakerPreview, reset_stored_breakers
from engine.service_views import BreakerView, PairView, TradeView, open_breakers
from risk import BreakerEvent, BreakerScope

MAX_PAIRS_PER_PAGE = 100
MAX_TRADES_PER_PAGE = 100
NOTICE_KIND = "operator"


@dataclass(frozen=True, slots=True)
class AdminPairView:
    """One pair as an admin sees it: whose, how it is set, what it holds and how its engine last reported."""

    telegram_id: int
    name: str | None
    pair: PairView
    position: str | None  # 'LONG 0.5 BTC' when a position is open
    breakers: tuple[BreakerView, ...]  # open now: the pair's losing streak, the owner's daily loss limit
    last_cycle: datetime | None  # the candle of the pair's last cycle
    engine: str | None  # the engine's last heartbeat status (running | paused | error), None before its first
    beat_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdminPairPage:
    pairs: tuple[AdminPairView, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class BreakersReset:
    telegram_id: int
    name: str | None
    breakers: tuple[BreakerView, ...]  # what was open and is reset now
    messages: tuple[str, ...]  # the running engines' own words, when they ran in this process
    applied: bool  # the engines of this process applied it; else a running `quorum run` does at its next refresh
    told: bool  # a notice to the user was queued in the outbox (the engines tell them when they applied it)


class AdminPairCalls(AdminAccess):
    async def pairs(
        self, telegram_id: int, target: object | None = None, page: object = 1, per_page: int = 50
    ) -> AdminPairPage:
        """Every pair that was not removed (or those of one user), by owner then symbol, a page at a time."""
        size = max(1, min(int(per_page), MAX_PAIRS_PER_PAGE))
        number = parse_whole(page, 1, 10**6, f"The page must be a whole number, 1 or more (got {shown(page)}).")
        now = self.ctx.now()
        async with self.ctx.transaction() as session:
            admin = await self._admin(session, telegram_id)
            query = select(UserPair, User).join(User, User.id == UserPair.user_id).where(UserPair.status != "stopped")
            owner = await self._target(session, telegram_id, target) if target is not None else None
            if owner is not None:
                query = query.where(UserPair.user_id == owner.id)
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = list(
                await session.execute(
                    query.order_by(UserPair.user_id, UserPair.symbol).offset((number - 1) * size).limit(size)
                )
            )
            views, states, beats = [], {}, {}
            for pair, user in rows:
                if user.id not in states:
                    states[user.id] = await UserStateRepository(session).get(user.id)
                    beats[user.id] = {b.symbol: b for b in await HeartbeatRepository(session).list_for_user(user.id)}
                beat = beats[user.id].get(pair.symbol)
                position = await open_position(session, user, pair.symbol)
                views.append(
                    AdminPairView(
                        user.telegram_id, name_of(user), PairView.of(pair), position,
                        open_breakers([pair], states[user.id], now),
                        ms_to_datetime(pair.last_candle_ts) if pair.last_candle_ts is not None else None,
                        beat.status if beat else None, beat.updated_at if beat else None,
                    )
                )  # fmt: skip
            subject = owner.id if owner is not None else admin.id if admin else None
            await self._audit(session, telegram_id, "admin_pairs", subject, target=_tid(owner), page=number)
        return AdminPairPage(tuple(views), number, max(1, -(-total // size)), total)

    async def trades(
        self, telegram_id: int, target: object, page: object = 1, per_page: int = 20, pair: object | None = None
    ) -> TradePage:
        """A user's trades, newest first, a page at a time; `pair` keeps those of one symbol (removed pairs too)."""
        size = max(1, min(int(per_page), MAX_TRADES_PER_PAGE))
        number = parse_whole(page, 1, 10**6, f"The page must be a whole number, 1 or more (got {shown(page)}).")
        async with self.ctx.transaction() as session:
            await self._admin(session, telegram_id)
            user = await self._target(session, telegram_id, target)
            symbol = await _their_symbol(session, user, pair) if pair is not None else None
            trades = TradeRepository(session)
            total = await trades.count_for_user(user.id, symbol)
            rows = await trades.page_for_user(user.id, (number - 1) * size, size, symbol)
            await self._audit(session, telegram_id, "admin_trades", user.id, target=user.telegram_id, symbol=symbol)
        return TradePage(tuple(TradeView.of(row) for row in rows), number, max(1, -(-total // size)), total)

    async def breakers(self, telegram_id: int, target: object) -> tuple[BreakerView, ...]:
        async with self.ctx.transaction() as session:
            await self._admin(session, telegram_id)
            user = await self._target(session, telegram_id, target)
            return open_breakers(await live_pairs(session, user), await UserStateRepository(session).get(user.id),
                                 self.ctx.now())  # fmt: skip

    async def reset_breaker(
        self, telegram_id: int, target: object, *, confirm: bool = False
    ) -> BreakerPreview | BreakersReset:
        """Reset every open breaker of the user (their pairs' losing streaks and their daily loss limit). Without
        confirm nothing changes: the preview says what is open, since when, and when it reopens on its own."""
        ctx = self.ctx
        wanted = target_id(target)
        async with ctx.serialized(wanted):
            tripped = await self.breakers(telegram_id, wanted)
            if not tripped:
                raise InvalidInput(f"User {wanted} has no open circuit breaker; their pairs trade as usual.")
            if not confirm:
                lines = " ".join(view.description for view in tripped)
                return BreakerPreview(tripped, f"User {wanted}: {lines} Reset now?")
            async with ctx.transaction() as session:
                user_id = (await self._target(session, telegram_id, wanted)).id

            async def resume(control: EngineControl) -> tuple[BreakerEvent, ...]:
                return await control.resume_breaker(user_id)

            applied = ctx.control is not None
            events = await ctx.act("reset the circuit breaker", resume) if applied else ()
            async with ctx.transaction() as session:
                await self._admin(session, telegram_id)
                user = await self._target(session, telegram_id, wanted, lock=True)
                await reset_stored_breakers(ctx, session, user)
                if not applied:
                    await OutboxRepository(session).enqueue(user.id, NOTICE_KIND, _notice(tripped), utc_now())
                reset = [view.symbol or "daily loss limit" for view in tripped]
                await self._audit(
                    session, telegram_id, RESET_BREAKER, user.id, target=wanted, reset=reset, applied=applied
                )
                name = name_of(user)
            if not applied:
                ctx.outbox_queued()
        return BreakersReset(wanted, name, tripped, tuple(event.message for event in events), applied, not applied)


async def _their_symbol(session: AsyncSession, user: User, raw: object) -> str:
    """The symbol of one of the user's pairs, removed ones included (their trades stay in the reports)."""
    text = symbol_text(raw)
    pairs = await PairRepository(session).list_for_user(user.id)
    found = match_symbol(text, [pair.symbol for pair in pairs])
    if found is None:
        names = ", ".join(pair.symbol for pair in pairs) or "none"
        raise InvalidInput(f"User {user.telegram_id} has no {text} pair. Their pairs: {names}.")
    return found


def _tid(user: User | None) -> int | None:
    return user.telegram_id if user is not None else None


def _notice(tripped: tuple[BreakerView, ...]) -> str:
    """What the user reads in their chat when the operator reset their breakers from the admin CLI."""
    lines = ["<b>🔓 The operator reset your circuit breaker</b>"]
    for view in tripped:
        what = view.symbol if view.scope is BreakerScope.PAIR else "Daily loss limit"
        lines.append(f"{escape(str(what))}: new entries are allowed again.")
    return "\n".join(lines)

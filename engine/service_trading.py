"""What a user asks of the running engines: close a position, stop everything, reset a tripped circuit breaker.

These need the engine that holds the position or the breaker, so without an EngineControl they are refused
(the admin CLI in another process). Stop and resume take a confirmation: called without it they change nothing
and return what would happen (for a breaker: what tripped it, when, and when it reopens on its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.repositories import PairRepository, UserStateRepository
from engine.control import EngineControl
from engine.records import ClosedTrade
from engine.service_accounts import ConfirmationNeeded, open_positions
from engine.service_context import PairRef, ServiceContext, find_pair, live_pairs, no_pair
from engine.service_errors import (
    EnginesNotRunning,
    NoOpenPosition,
    NothingToResume,
    PairNotFound,
    ServiceError,
)
from engine.service_pairs import open_position, set_paused, tell_changed
from engine.service_views import BreakerView, ClosedTradeView, open_breakers
from risk import BreakerEvent, BreakerScope, DailyLossState, LossStreakState


@dataclass(frozen=True, slots=True)
class PositionClosed:
    trade: ClosedTradeView


@dataclass(frozen=True, slots=True)
class StoppedAll:
    paused: tuple[str, ...]
    closed: tuple[ClosedTradeView, ...]
    failed: tuple[tuple[str, str], ...]  # (symbol, why) for positions that could not be closed


@dataclass(frozen=True, slots=True)
class BreakerPreview:
    """Nothing changed yet: what is open, and `message` to show before asking to confirm."""

    breakers: tuple[BreakerView, ...]
    message: str


@dataclass(frozen=True, slots=True)
class BreakerResumed:
    breakers: tuple[BreakerView, ...]  # the breakers that were open and are reset now
    messages: tuple[str, ...]  # the engines' own words for each reset


class TradingCalls:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def close(self, telegram_id: int, pair: PairRef) -> PositionClosed:
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id) as (session, user):
                found = await find_pair(session, user, pair)
                symbol, user_id = found.symbol, user.id
                if await open_position(session, user, symbol) is None:
                    raise NoOpenPosition(f"You have no open position on {symbol}.")

            async def close_it(control: EngineControl) -> ClosedTrade | None:
                return await control.close_position(user_id, symbol)

            trade = await ctx.act(f"close {symbol}", close_it)
            if trade is None:
                raise NoOpenPosition(f"{symbol} had no open position to close (it may have closed just now).")
            view = ClosedTradeView.of(trade)
            async with ctx.session(telegram_id) as (session, user):
                await ctx.audit(session, user, "close_position", symbol, pnl=view.pnl, exit_price=view.exit_price)
            return PositionClosed(view)

    async def stop_all(self, telegram_id: int, *, confirm: bool = False) -> StoppedAll | ConfirmationNeeded:
        """Pause every pair, then close every open position at market."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                pairs = await live_pairs(session, user)
                if not pairs:
                    raise PairNotFound(no_pair(None, []))
                held = await open_positions(session, user)
                if not confirm:
                    return ConfirmationNeeded("stop", _stop_question(held, len(pairs)))
                if held and ctx.control is None:
                    raise EnginesNotRunning("close your positions")
                changes = await set_paused(ctx, session, user, [p for p in pairs if p.status != "paused"], "stopped")
                user_id, names = user.id, tuple(pair.symbol for pair in pairs)
            await tell_changed(ctx, user_id, changes, "paused")
            closed: list[ClosedTradeView] = []
            failed: list[tuple[str, str]] = []
            for symbol in held:

                async def close_it(control: EngineControl, symbol: str = symbol) -> ClosedTrade | None:
                    return await control.close_position(user_id, symbol)

                try:
                    trade = await ctx.act(f"close {symbol}", close_it)
                except ServiceError as exc:
                    failed.append((symbol, exc.message))
                    continue
                if trade is not None:
                    closed.append(ClosedTradeView.of(trade))
            async with ctx.session(telegram_id) as (session, user):
                await ctx.audit(
                    session, user, "stop_all", paused=list(names), closed=[t.symbol for t in closed],
                    failed=[symbol for symbol, _ in failed],
                )  # fmt: skip
            return StoppedAll(names, tuple(closed), tuple(failed))

    async def breakers(self, telegram_id: int) -> tuple[BreakerView, ...]:
        """The user's open circuit breakers (per pair, and the user-wide daily loss limit)."""
        async with self.ctx.session(telegram_id) as (session, user):
            state = await UserStateRepository(session).get(user.id)
            return open_breakers(await live_pairs(session, user), state, self.ctx.now())

    async def resume_breaker(self, telegram_id: int, *, confirm: bool = False) -> BreakerPreview | BreakerResumed:
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            tripped = await self.breakers(telegram_id)
            if not tripped:
                raise NothingToResume()
            if not confirm:
                lines = " ".join(view.description for view in tripped)
                return BreakerPreview(tripped, f"{lines} Resume trading now?")
            async with ctx.session(telegram_id) as (_, user):
                user_id = user.id

            async def resume(control: EngineControl) -> tuple[BreakerEvent, ...]:
                return await control.resume_breaker(user_id)

            events = await ctx.act("reset the circuit breaker", resume)
            async with ctx.session(telegram_id, lock=True) as (session, user):
                await reset_stored_breakers(ctx, session, user)
                reset = [view.symbol or "daily loss limit" for view in tripped]
                await ctx.audit(session, user, "resume_breaker", reset=reset)
            return BreakerResumed(tripped, tuple(event.message for event in events))


async def reset_stored_breakers(ctx: ServiceContext, session: AsyncSession, user: User) -> None:
    """Reset the breakers the database still holds open: after the running engines reset theirs, those of pairs
    whose engine does not run in this process (their breaker lives only in the database)."""
    state = await UserStateRepository(session).get(user.id)
    for view in open_breakers(await live_pairs(session, user), state, ctx.now()):
        if view.scope is BreakerScope.PAIR and view.symbol is not None:
            running = LossStreakState()
            await PairRepository(session).save_breaker(user.id, view.symbol, running.to_dict(), running.status.value)
        else:
            daily = DailyLossState(day=ctx.now().date())
            await UserStateRepository(session).update(
                user.id, breaker=daily.to_dict(), breaker_status=daily.status.value
            )


def _stop_question(held: list[str], pairs: int) -> str:
    every = f"pauses all {pairs} of your pairs" if pairs > 1 else "pauses your pair"
    if not held:
        return f"/stop {every} (no position is open). Stop everything?"
    count = f"{len(held)} open position{'s' if len(held) > 1 else ''}"
    return f"/stop closes {count} at market ({', '.join(held)}) and {every}. Stop everything?"

"""A user's pairs: add (symbol, budget, leverage checked), remove, pause and resume.

A removed pair keeps its row as status `stopped`, so its trades, decisions and equity history stay in the
reports (the schema cascades a deleted pair's history away); adding the symbol again revives it.

Removing first pauses the pair and tells its engine, so no cycle can open a position while the pair goes away;
only then is the position closed (when asked), checked, and the pair stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, UserPair
from db.repositories import AccountRepository, PairRepository, PositionRepository, TradeRepository
from domain.market import MarketInfo, MarketType
from engine.control import EngineControl, PairChange
from engine.records import ClosedTrade
from engine.service_balance import read, source
from engine.service_context import PairRef, ServiceContext, find_pair, live_pairs, no_pair
from engine.service_errors import (
    BudgetExceeded,
    EnginesNotRunning,
    ExchangeUnavailable,
    InvalidInput,
    NoAccount,
    PairAlreadyAdded,
    PairNotFound,
    PositionStillOpen,
    UnknownSymbol,
)
from engine.service_inputs import parse_amount, parse_leverage, resolve_symbol
from engine.service_views import ClosedTradeView, PairView


@dataclass(frozen=True, slots=True)
class PairAdded:
    pair: PairView
    quote: str
    unallotted: Decimal  # what the account still has for further pairs in this quote currency


@dataclass(frozen=True, slots=True)
class PairRemoved:
    symbol: str
    closed: ClosedTradeView | None  # the position closed on the way out, when asked to


@dataclass(frozen=True, slots=True)
class PairsChanged:
    action: str  # paused | resumed
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]  # already in that state


def number(value: Decimal) -> str:
    """10,000 / 1,234.5 / 0.25: exact, without exponent or trailing zeros."""
    return f"{value.normalize():,f}"


def quote_of(symbol: str) -> str:
    return symbol.split(":", 1)[0].partition("/")[2]


async def open_position(session: AsyncSession, user: User, symbol: str) -> str | None:
    """'LONG 0.5 BTC' when the engines recorded an open position (or round trip) on the pair, else None."""
    position = await PositionRepository(session).get(user.id, symbol)
    if position is not None:
        return f"{position.side.upper()} {number(position.amount)} {symbol.partition('/')[0]}"
    trade = await TradeRepository(session).open_trade(user.id, symbol)
    if trade is not None:
        return f"{trade.side.upper()} {number(trade.amount)} {symbol.partition('/')[0]}"
    return None


async def set_paused(
    ctx: ServiceContext, session: AsyncSession, user: User, pairs: list[UserPair], reason: str
) -> list[tuple[str, PairChange]]:
    """Mark the pairs paused in this transaction; the changes to hand the engines once it commits."""
    repository = PairRepository(session)
    changes = []
    for pair in pairs:
        await repository.set_status(user.id, pair.symbol, "paused", reason)
        changes.append((pair.symbol, ctx.pair_change(user, pair)))
    return changes


async def tell_changed(ctx: ServiceContext, user_id: int, changes: list[tuple[str, PairChange]], done: str) -> None:
    for symbol, change in changes:

        async def call(control: EngineControl, symbol: str = symbol, change: PairChange = change) -> None:
            await control.pair_changed(user_id, symbol, change)

        await ctx.tell(f"{symbol} was {done}", call)


class PairCalls:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def show(self, telegram_id: int) -> tuple[PairView, ...]:
        async with self.ctx.session(telegram_id) as (session, user):
            return tuple(PairView.of(pair) for pair in await live_pairs(session, user))

    async def add(self, telegram_id: int, symbol: object, budget: object, leverage: object = 1) -> PairAdded:
        """Symbol checked against the account's exchange; budget exact, positive and within what the account
        holds minus the budgets of the user's other pairs in the same quote currency (the account's total, not
        its free balance: a pair's open margin is part of that pair's budget already, so it counts once)."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id) as (session, user):
                if user.status == "paused":
                    raise InvalidInput("The operator has paused your account; no pair can be added until they lift it.")
                account = await AccountRepository(session).active(user.id)
                if account is None:
                    raise NoAccount()
                account_id, exchange, market_type = account.id, account.exchange, MarketType(account.market_type)
                funds = await source(ctx, session, account, user.mode)
            markets = await self._markets(exchange, market_type)
            market = resolve_symbol(symbol, markets, exchange)
            amount, lev = self._check(market, exchange, budget, leverage)
            balance = await read(ctx, funds)
            async with ctx.session(telegram_id, lock=True) as (session, user):
                current = await AccountRepository(session).active(user.id)
                if current is None or current.id != account_id:
                    raise NoAccount()
                pairs = PairRepository(session)
                existing = await pairs.get(user.id, market.symbol)
                if existing is not None and existing.status != "stopped":
                    raise PairAlreadyAdded(
                        f"{market.symbol} is already in your pairs (budget {number(existing.budget)} {market.quote}, "
                        f"{existing.leverage}x). Remove it first with /removepair {market.symbol} to change it."
                    )
                others = [p for p in await live_pairs(session, user) if quote_of(p.symbol) == market.quote]
                left = self._left(balance.total(market.quote), others, amount, market)
                if existing is not None:
                    pair = await pairs.reactivate(user.id, market.symbol, amount, lev, account_id)
                    assert pair is not None
                else:
                    pair = await pairs.add(user.id, market.symbol, amount, lev, account_id)
                await ctx.audit(session, user, "add_pair", market.symbol, budget=amount, leverage=lev)
                view, user_id = PairView.of(pair), user.id

            async def start(control: EngineControl) -> None:
                await control.pair_added(user_id, market.symbol)

            await ctx.tell(f"{market.symbol} was added", start)
            return PairAdded(view, market.quote, left)

    async def _markets(self, exchange: str, market_type: MarketType) -> dict[str, MarketInfo]:
        from adapters.exchange.errors import ExchangeError

        try:
            return dict(await self.ctx.gateway.markets(exchange, market_type))
        except ExchangeError as exc:
            raise ExchangeUnavailable(
                f"{exchange}'s list of markets could not be read ({exc}); nothing was added. Try again soon."
            ) from None

    def _check(self, market: MarketInfo, exchange: str, budget: object, leverage: object) -> tuple[Decimal, int]:
        if not market.active:
            raise UnknownSymbol(f"{market.symbol} is not trading on {exchange} right now (the market is closed).")
        amount = parse_amount(budget, "The budget", market.quote)
        lev = parse_leverage(leverage, self.ctx.settings.max_leverage)
        if market.type is not MarketType.PERPETUAL and lev != 1:
            raise InvalidInput(
                f"{market.symbol} trades spot on this account, at 1x: leave the leverage out, or connect a "
                "perpetual account for leverage."
            )
        if market.type is MarketType.PERPETUAL and lev > market.max_leverage:
            raise InvalidInput(f"{exchange} allows at most {market.max_leverage}x on {market.symbol} (got {lev}x).")
        if amount * lev < market.min_notional:
            raise InvalidInput(
                f"A budget of {number(amount)} {market.quote} is too small for {market.symbol}: {exchange}'s smallest "
                f"order is worth {number(market.min_notional)} {market.quote}."
            )
        return amount, lev

    @staticmethod
    def _left(total: Decimal, others: list[UserPair], amount: Decimal, market: MarketInfo) -> Decimal:
        allotted = sum((pair.budget for pair in others if pair.symbol != market.symbol), Decimal(0))
        available = total - allotted
        if amount <= available:
            return available - amount
        quote = market.quote
        asked = f"A budget of {number(amount)} {quote} is more than"
        if allotted == 0:
            raise BudgetExceeded(f"{asked} your account holds ({number(total)} {quote}). Choose at most "
                                 f"{number(max(available, Decimal(0)))} {quote}.")  # fmt: skip
        names = ", ".join(pair.symbol for pair in others if pair.symbol != market.symbol)
        held = f"your account holds {number(total)} {quote} and {number(allotted)} {quote} is allotted to {names}"
        if available <= 0:
            raise BudgetExceeded(f"{asked} is left: {held}. Remove a pair first (/removepair SYMBOL).")
        raise BudgetExceeded(f"{asked} is left: {held}. Choose at most {number(available)} {quote}.")

    async def remove(self, telegram_id: int, pair: PairRef, *, close: bool = False) -> PairRemoved:
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                found = await find_pair(session, user, pair)
                symbol, user_id = found.symbol, user.id
                held = await open_position(session, user, symbol)
                if held is not None and not close:
                    raise PositionStillOpen(
                        f"{symbol} has an open position ({held}). Close it first with /close {symbol}, or remove the "
                        f"pair and close the position at market in one go: /removepair {symbol} close."
                    )
                if held is not None and ctx.control is None:
                    raise EnginesNotRunning(f"close the {symbol} position")
                changes = await set_paused(ctx, session, user, [found], "being removed")
            await tell_changed(ctx, user_id, changes, "paused")
            closed = None
            if held is not None:

                async def close_it(control: EngineControl) -> ClosedTrade | None:
                    return await control.close_position(user_id, symbol)

                trade = await ctx.tell(f"{symbol} was paused", close_it)
                closed = ClosedTradeView.of(trade) if trade is not None else None
            async with ctx.session(telegram_id, lock=True) as (session, user):
                still = await open_position(session, user, symbol)
                if still is not None:
                    raise PositionStillOpen(
                        f"{symbol} still has an open position ({still}), so it was not removed; it is paused, so it "
                        f"opens nothing new. Close it with /close {symbol}, then remove it."
                    )
                await PairRepository(session).set_status(user.id, symbol, "stopped", "removed")
                pnl = closed.pnl if closed is not None else None
                await ctx.audit(session, user, "remove_pair", symbol, closed=closed is not None, pnl=pnl)

            async def stop(control: EngineControl) -> None:
                await control.pair_removed(user_id, symbol)

            await ctx.tell(f"{symbol} was removed", stop)
            return PairRemoved(symbol, closed)

    async def pause(self, telegram_id: int, pair: PairRef | None = None) -> PairsChanged:
        """One pair, or every pair when none is named; an open position keeps its stop loss and take profit."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                targets = await self._targets(session, user, pair)
                todo = [p for p in targets if p.status != "paused"]
                changes = await set_paused(ctx, session, user, todo, "paused by you")
                await ctx.audit(session, user, "pause", _one(pair, targets), pairs=[p.symbol for p in todo])
                user_id = user.id
            await tell_changed(ctx, user_id, changes, "paused")
            done = tuple(symbol for symbol, _ in changes)
            return PairsChanged("paused", done, tuple(p.symbol for p in targets if p.symbol not in done))

    async def resume(self, telegram_id: int, pair: PairRef | None = None) -> PairsChanged:
        """Paused pairs (and pairs stopped by errors) trade again. A tripped breaker is separate: see trading."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                if user.status == "paused":
                    raise InvalidInput("The operator has paused your account; your pairs resume when they lift it.")
                targets = await self._targets(session, user, pair)
                todo = [p for p in targets if p.status != "active"]
                repository, changes = PairRepository(session), []
                for target in todo:
                    await repository.set_status(user.id, target.symbol, "active")
                    changes.append((target.symbol, ctx.pair_change(user, target)))
                await ctx.audit(session, user, "resume", _one(pair, targets), pairs=[p.symbol for p in todo])
                user_id = user.id
            await tell_changed(ctx, user_id, changes, "resumed")
            done = tuple(symbol for symbol, _ in changes)
            return PairsChanged("resumed", done, tuple(p.symbol for p in targets if p.symbol not in done))

    @staticmethod
    async def _targets(session: AsyncSession, user: User, pair: PairRef | None) -> list[UserPair]:
        if pair is not None:
            return [await find_pair(session, user, pair)]
        targets = await live_pairs(session, user)
        if not targets:
            raise PairNotFound(no_pair(None, []))
        return targets


def _one(pair: PairRef | None, targets: list[UserPair]) -> str | None:
    return targets[0].symbol if pair is not None and targets else None

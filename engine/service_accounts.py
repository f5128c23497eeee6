"""Who the user is and what they trade on: register, connect a paper or live account, disconnect, paper/live mode.

A live account's key and secret are checked with one read-only call before anything is stored, then stored
encrypted (db/encryption.py); no result, audit row or log line carries them. Live accounts and live mode need
the operator's master key. Connecting keys does not switch to live trading: that takes /mode live, confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.encryption import MasterKeyMissing
from db.models import User
from db.repositories import AccountRepository, PairRepository, PositionRepository, TradeRepository, UserRepository
from engine.control import EngineControl
from engine.service_balance import PAPER_CURRENCY, read, totals
from engine.service_context import ServiceContext, live_pairs
from engine.service_errors import (
    AccountBlocked,
    AlreadyConnected,
    InvalidInput,
    MasterKeyRequired,
    NoAccount,
    NotRegistered,
    PositionStillOpen,
)
from engine.service_gateway import LiveAccess
from engine.service_inputs import (
    check_passphrase,
    clean_name,
    exchange_id,
    parse_amount,
    parse_choice,
    parse_credentials,
    parse_market_type,
)
from engine.service_pairs import set_paused, tell_changed
from engine.service_views import AccountView, UserView


@dataclass(frozen=True, slots=True)
class Registered:
    user: UserView
    created: bool


@dataclass(frozen=True, slots=True)
class Connected:
    account: AccountView
    balances: tuple[tuple[str, Decimal], ...]  # (currency, total) held, largest first


@dataclass(frozen=True, slots=True)
class Disconnected:
    account: AccountView
    stopped_pairs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfirmationNeeded:
    """Nothing changed yet: show `message` and call again with confirm=True if the user agrees."""

    action: str
    message: str


@dataclass(frozen=True, slots=True)
class ModeSet:
    mode: str  # paper | live
    changed: bool


async def open_positions(session: AsyncSession, user: User) -> list[str]:
    """Symbols with a position (or an open round trip) recorded by the engines."""
    held = {row.symbol for row in await PositionRepository(session).list_for_user(user.id)}
    held |= {t.symbol for t in await TradeRepository(session).list_for_user(user.id, limit=1000) if t.status == "open"}
    return sorted(held)


def _positions_first(symbols: list[str], doing: str) -> PositionStillOpen:
    first = symbols[0]
    return PositionStillOpen(
        f"You have open positions on {', '.join(symbols)}. Close them before {doing}: /close {first}, or /stop to "
        "close everything."
    )


class AccountCalls:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def log_command(self, telegram_id: int, command: str, args: tuple[str, ...]) -> None:
        """Every command a registered user sends, in the audit log (the transport has already masked secrets);
        an unregistered sender has no rows to log against."""
        ctx = self.ctx
        try:
            async with ctx.session(telegram_id) as (session, user):
                await ctx.audit(session, user, "command", command=command[:64], args=[a[:64] for a in args[:8]])
        except (NotRegistered, AccountBlocked):
            return

    async def register(self, telegram_id: int, name: str | None, username: str | None = None) -> Registered:
        """The user with this Telegram id, created on first sight; calling again changes only the name."""
        if isinstance(telegram_id, bool) or not isinstance(telegram_id, int):
            raise InvalidInput("A Telegram user id is a whole number.")
        display, handle = clean_name(name), clean_name(username)
        admin = telegram_id in self.ctx.settings.admin_telegram_ids
        async with self.ctx.transaction() as session:
            users = UserRepository(session)
            user, created = await users.register(telegram_id, handle, display, is_admin=admin)
            if user.status == "blocked":
                raise AccountBlocked()
            renamed = not created and display is not None and user.display_name != display
            if renamed:
                await users.set_display_name(user.id, display)
            if created or renamed:
                await self.ctx.audit(session, user, "register" if created else "rename", name=display)
            return Registered(UserView.of(user), created)

    async def connect_paper(self, telegram_id: int, balance: object = None, *, market_type: object = None) -> Connected:
        """A paper account with `balance` USDT (default: the operator's PAPER_START_BALANCE) on real prices."""
        ctx = self.ctx
        amount = parse_amount(
            ctx.settings.paper_start_balance if balance is None else balance, "The paper balance", PAPER_CURRENCY
        )
        kind = parse_market_type(market_type, ctx.default_market_type)
        async with ctx.serialized(telegram_id), ctx.session(telegram_id, lock=True) as (session, user):
            await self._not_connected(session, user)
            account = await AccountRepository(session).add_paper(user.id, amount, ctx.paper_exchange, kind.value)
            await ctx.audit(
                session, user, "connect_paper", exchange=account.exchange, market_type=kind.value, balance=amount
            )
            return Connected(AccountView.of(account), ((PAPER_CURRENCY, amount),))

    async def connect_live(
        self,
        telegram_id: int,
        exchange: object,
        api_key: object,
        secret: object,
        *,
        password: object | None = None,
        testnet: bool = False,
        market_type: object = None,
    ) -> Connected:
        """Check the exchange id and the keys (one read-only call), then store the keys encrypted."""
        ctx = self.ctx
        name = exchange_id(exchange)
        if ctx.box is None:
            raise MasterKeyRequired(str(MasterKeyMissing()))
        check_passphrase(name, password)
        credentials = parse_credentials(api_key, secret, password)
        kind = parse_market_type(market_type, ctx.default_market_type)
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id) as (session, user):
                await self._not_connected(session, user)
            balance = await read(ctx, LiveAccess(name, credentials, kind, bool(testnet)))
            async with ctx.session(telegram_id, lock=True) as (session, user):
                await self._not_connected(session, user)
                account = await AccountRepository(session, ctx.box).add_live(
                    user.id, name, credentials, bool(testnet), kind.value
                )
                await ctx.audit(
                    session, user, "connect_live", exchange=name, market_type=kind.value, testnet=bool(testnet)
                )
                return Connected(AccountView.of(account), totals(balance))

    @staticmethod
    async def _not_connected(session: AsyncSession, user: User) -> None:
        active = await AccountRepository(session).active(user.id)
        if active is not None:
            raise AlreadyConnected(
                f"You are already connected to {AccountView.of(active).label}. Send /disconnect first to switch "
                "accounts."
            )

    async def disconnect(self, telegram_id: int) -> Disconnected:
        """Refused while a position is open; otherwise every pair stops (its history stays) and the account is
        switched off. The pairs are paused first, so no cycle opens a position while the account goes away."""
        ctx = self.ctx
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                account = await AccountRepository(session).active(user.id)
                if account is None:
                    raise NoAccount()
                held = await open_positions(session, user)
                if held:
                    raise _positions_first(held, "disconnecting")
                pairs = await live_pairs(session, user)
                changes = await set_paused(ctx, session, user, pairs, "the account is being disconnected")
                user_id = user.id
            await tell_changed(ctx, user_id, changes, "paused")
            async with ctx.session(telegram_id, lock=True) as (session, user):
                held = await open_positions(session, user)
                if held:
                    raise _positions_first(held, "disconnecting (your pairs are paused meanwhile)")
                repository, names = PairRepository(session), [symbol for symbol, _ in changes]
                for symbol in names:
                    await repository.set_status(user.id, symbol, "stopped", "the account was disconnected")
                await AccountRepository(session).deactivate_all(user.id)
                view = AccountView.of(account)
                await ctx.audit(session, user, "disconnect", exchange=view.exchange, stopped=names)
            for symbol in names:

                async def stop(control: EngineControl, symbol: str = symbol) -> None:
                    await control.pair_removed(user_id, symbol)

                await ctx.tell(f"{symbol} was stopped", stop)
            return Disconnected(view, tuple(names))

    async def set_mode(self, telegram_id: int, mode: object, *, confirm: bool = False) -> ModeSet | ConfirmationNeeded:
        """paper | live. Live needs the master key, a live account and confirm=True; either way no position may
        be open (it belongs to the mode it was opened in). The engines are rebuilt for the new mode."""
        ctx = self.ctx
        wanted = parse_choice(mode, ("paper", "live"), "The mode")
        async with ctx.serialized(telegram_id):
            async with ctx.session(telegram_id, lock=True) as (session, user):
                if user.mode == wanted:
                    return ModeSet(wanted, False)
                pairs = await live_pairs(session, user)
                account = await AccountRepository(session).active(user.id)
                if wanted == "live":
                    if ctx.box is None:
                        raise MasterKeyRequired(str(MasterKeyMissing()))
                    if account is None or account.is_paper:
                        raise InvalidInput(
                            "Live mode needs a live exchange account. Send /disconnect, then "
                            "/connect <exchange> <key> <secret>. Your paper account keeps trading on paper."
                        )
                held = await open_positions(session, user)
                if held:
                    raise _positions_first(held, f"switching to {wanted} mode")
                if wanted == "live" and not confirm and account is not None:
                    names = ", ".join(pair.symbol for pair in pairs) or "the pairs you add"
                    return ConfirmationNeeded(
                        "mode_live",
                        f"Live mode places real orders with real money on {account.exchange} for {names}. "
                        "Switch to live?",
                    )
                await UserRepository(session).set_mode(user.id, wanted)
                await ctx.audit(session, user, "set_mode", mode=wanted)
                user_id, runnable = user.id, [pair.symbol for pair in pairs]
            for symbol in runnable:

                async def rebuild(control: EngineControl, symbol: str = symbol) -> None:
                    await control.pair_removed(user_id, symbol)
                    await control.pair_added(user_id, symbol)

                await ctx.tell(f"You are in {wanted} mode now", rebuild)
            return ModeSet(wanted, True)

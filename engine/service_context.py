"""What every service call shares: the acting user, their rows, the audit log and the engines' control.

A call names the acting user by Telegram id; `session()` turns it into the user row (refusing the unknown and
the blocked) inside one transaction, and every row the call reads or writes is looked up through that user's
id, so no call can reach another user's rows. Changes are serialised per user (an asyncio lock in this process,
the user row locked in the database across processes), so two taps on a button cannot both pass a check that
only one of them may pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchange.errors import ExchangeError
from config.settings import Settings
from db.database import Database, DatabaseUnavailable
from db.encryption import SecretBox
from db.models import User, UserPair
from db.repositories import AuditRepository, PairRepository, UserRepository
from domain.market import MarketType
from domain.money import ms_to_datetime
from engine.clock import Clock, WallClock
from engine.control import EngineControl, PairChange
from engine.service_errors import (
    AccountBlocked,
    EngineFailed,
    EnginesNotRunning,
    InvalidSetting,
    NotRegistered,
    PairNotFound,
    ServiceError,
    ServiceUnavailable,
)
from engine.service_gateway import ExchangeGateway
from engine.service_inputs import match_symbol, symbol_text
from engine.service_prefs import pair_limits
from risk import RiskConfigError, RiskLimits

T = TypeVar("T")
PairRef = str | int  # a symbol as typed, or a pair id (from a button)


class ServiceContext:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        gateway: ExchangeGateway,
        *,
        box: SecretBox | None = None,
        control: EngineControl | None = None,
        clock: Clock | None = None,
        channel: str = "telegram",
        paper_exchange: str | None = None,
        default_market_type: MarketType = MarketType.PERPETUAL,
        operator: str | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.gateway = gateway
        self.box = box
        self.control = control
        self.clock = clock or WallClock()
        self.channel = channel
        self.operator = operator  # the admin CLI's operator (engine/service_admin_access.py); None elsewhere
        self.paper_exchange = paper_exchange or settings.default_exchange
        self.default_market_type = default_market_type
        self.base_limits = RiskLimits.from_settings(settings)
        self._locks: dict[int, asyncio.Lock] = {}
        self.on_outbox: Callable[[], None] | None = None  # wakes this process's outbox sender (quorum run sets it)

    def outbox_queued(self) -> None:
        """Rows were committed to the alert outbox: let the sender know (another process's picks them up on its
        next pass)."""
        if self.on_outbox is not None:
            self.on_outbox()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def now(self) -> datetime:
        return ms_to_datetime(self.clock.now_ms())

    def actor(self, user: User) -> str:
        return f"{self.channel}:{user.telegram_id}"

    @asynccontextmanager
    async def serialized(self, telegram_id: int) -> AsyncIterator[None]:
        """One change at a time for this user in this process (the database row lock covers other processes)."""
        lock = self._locks.setdefault(telegram_id, asyncio.Lock())
        async with lock:
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self.database.transaction() as session:
                yield session
        except DatabaseUnavailable:
            raise ServiceUnavailable() from None

    @asynccontextmanager
    async def session(self, telegram_id: int, *, lock: bool = False) -> AsyncIterator[tuple[AsyncSession, User]]:
        """One transaction with the acting user's row (locked until commit when `lock`)."""
        async with self.transaction() as session:
            users = UserRepository(session)
            user = await (users.lock_by_telegram_id(telegram_id) if lock else users.by_telegram_id(telegram_id))
            if user is None:
                raise NotRegistered()
            if user.status == "blocked":
                raise AccountBlocked()
            yield session, user

    async def audit(
        self, session: AsyncSession, user: User, action: str, symbol: str | None = None, **detail: Any
    ) -> None:
        """One audit row in the call's transaction; detail holds plain figures and names, never a secret."""
        await AuditRepository(session).record(self.actor(user), action, user.id, symbol, _json_safe(detail))

    async def tell(self, what: str, call: Callable[[EngineControl], Awaitable[T]]) -> T | None:
        """Pass a stored change to the running engines; None without a control. A failure is reported with
        `what` (the part that stands) and the reason, never swallowed."""
        if self.control is None:
            return None
        try:
            return await call(self.control)
        except ServiceError:
            raise
        except ExchangeError as exc:
            raise EngineFailed(f"{what}, but the exchange refused: {exc}") from exc
        except Exception as exc:
            logger.exception("engine control failed: {}", what)
            raise EngineFailed(
                f"{what}, but the running engine could not follow ({type(exc).__name__}); it picks the change up "
                "when it restarts."
            ) from exc

    async def act(self, what: str, call: Callable[[EngineControl], Awaitable[T]]) -> T:
        """An action only a running engine can do (`what`: "close BTC/USDT"); refused without a control."""
        if self.control is None:
            raise EnginesNotRunning(what)
        try:
            return await call(self.control)
        except ServiceError:
            raise
        except ExchangeError as exc:
            raise EngineFailed(f"Could not {what}: {exc}") from exc
        except Exception as exc:
            logger.exception("engine control failed: {}", what)
            raise EngineFailed(f"Could not {what}: the engine failed ({type(exc).__name__}). Try again.") from exc

    def pair_change(self, user: User, pair: UserPair) -> PairChange:
        try:
            limits = pair_limits(self.base_limits, user.settings, pair.risk_overrides)
        except RiskConfigError as exc:
            raise InvalidSetting(
                f"Your stored risk settings are no longer valid: {exc}. Fix them with /settings."
            ) from None
        return PairChange(pair.budget, pair.leverage, pair.status != "active", limits)


async def live_pairs(session: AsyncSession, user: User) -> list[UserPair]:
    """The user's pairs that were not removed (removal keeps the row, and its history, as status stopped)."""
    return [pair for pair in await PairRepository(session).list_for_user(user.id) if pair.status != "stopped"]


async def find_pair(session: AsyncSession, user: User, ref: PairRef) -> UserPair:
    """The user's pair by symbol (as typed) or by id; another user's pair reads exactly as a missing one."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        pair = await PairRepository(session).get_by_id(user.id, ref)
        if pair is None or pair.status == "stopped":
            raise PairNotFound("That pair is not one of yours (it may have been removed). Send /pairs to see yours.")
        return pair
    text = symbol_text(ref)
    pairs = await live_pairs(session, user)
    name = match_symbol(text, [pair.symbol for pair in pairs])
    if name is None:
        raise PairNotFound(no_pair(text, pairs))
    return next(pair for pair in pairs if pair.symbol == name)


def no_pair(symbol: str | None, pairs: list[UserPair]) -> str:
    if not pairs:
        return "You have no pairs yet. Add one with /addpair BTC/USDT 1000."
    names = ", ".join(pair.symbol for pair in pairs)
    return f"You have no {symbol} pair. Your pairs: {names}." if symbol else f"Your pairs: {names}."


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if isinstance(value, (list, tuple)):
            out[key] = [v if isinstance(v, (int, float, bool, type(None))) else str(v) for v in value]
        elif isinstance(value, (int, float, bool, type(None), str)):
            out[key] = value
        else:
            out[key] = str(value)
    return out

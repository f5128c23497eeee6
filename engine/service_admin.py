"""What the operator's admins can do from a chat: list the users, read the figures of the whole installation,
pause or resume one user, and broadcast a message to everyone.

Each call takes the acting admin's Telegram id first and is refused (NotAnAdmin) unless that id is in
ADMIN_TELEGRAM_IDS or the admin's own user row says is_admin (and is not blocked); an admin need not be a
registered trader. The admin CLI acts as OPERATOR instead (engine/service_admin_access.py). Every call writes an
audit row whose actor is the admin (never a secret: no view here holds a key, and broadcast texts are clipped in
the log). Pairs, trades and breaker resets: engine/service_admin_pairs.py.

Pausing a user pauses all of their pairs exactly as their own /pause does (engine/service_pairs.py set_paused and
tell_changed, so the running engines stop opening positions at their next step; open positions keep their stop
loss and take profit), marks the user paused (their own /resume is then refused) and queues a notice to them in
the alert outbox. Resuming restores the pairs the operator paused, and only those: a pair the user had paused
themselves stays paused. Broadcasts go through the same outbox, one row per user who is not blocked, so the
running outbox sender delivers them with its retries and flood control.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from html import escape

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AlertOutbox, EngineHeartbeat, ExchangeAccount, PositionRow, TradeRow, User, UserPair, UserState
from db.repositories import PairRepository, UserRepository
from db.repositories.outbox import OutboxRepository
from domain.money import utc_now
from engine.control import ManagerControl, PairChange
from engine.service_admin_access import name_of, target_id
from engine.service_admin_pairs import NOTICE_KIND, AdminPairCalls
from engine.service_context import live_pairs
from engine.service_errors import InvalidInput
from engine.service_inputs import parse_choice, parse_whole, shown
from engine.service_pairs import set_paused, tell_changed
from engine.service_views import AccountView

OPERATOR_PAUSE = "paused by the operator"  # the pair reason that marks what a resume by the operator restores
MAX_PER_PAGE = 50
MAX_BROADCAST_CHARS = 3500
MAX_REASON_CHARS = 200
BROADCAST_KIND = "broadcast"
BEATING_S = 300  # a live engine beats every monitor tick (a minute); five minutes of silence is not running


@dataclass(frozen=True, slots=True)
class AdminUserView:
    """One user as an admin sees them: who, how they trade, how much; never a key or a secret."""

    telegram_id: int
    name: str | None
    username: str | None
    mode: str  # paper | live
    status: str  # active | paused | blocked
    is_admin: bool
    pairs: int  # pairs not removed
    account: str | None  # 'paper (perpetual, binance prices)'; None without a connected account
    equity: Decimal | None  # as the engines last marked the account; None before they have
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class UserPage:
    users: tuple[AdminUserView, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class AdminStats:
    users_total: int
    users_active: int
    users_paused: int
    users_blocked: int
    pairs: tuple[tuple[str, int], ...]  # (status, count), removed pairs (stopped) included
    open_positions: int
    trades_today: int  # opened since 00:00 UTC of the service's clock
    closed_today: int
    alerts_waiting: int  # in the outbox, not yet accepted by Telegram
    engines_loaded: int | None  # None: the engines do not run in this process
    engines_trading: int | None  # loaded, not paused and not given up on after crashes
    engines_beating: int  # engines of any process whose heartbeat is at most BEATING_S old (running or paused)


@dataclass(frozen=True, slots=True)
class UserStatusChanged:
    telegram_id: int
    name: str | None
    status: str  # paused | active: what the user is now
    previous: str
    pairs: tuple[str, ...]  # the pairs this call paused or resumed
    unchanged: tuple[str, ...]  # the user's other pairs (already paused, or paused by the user themselves)
    reason: str | None
    told: bool  # a notice to the user was queued in the outbox


def _clean(raw: object, limit: int) -> str:
    """Text without control characters (line breaks kept), trimmed; the caller checks the length."""
    text = "".join(ch for ch in str(raw) if ch == "\n" or unicodedata.category(ch)[0] != "C")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(lines).strip()[: limit + 1]


class AdminCalls(AdminPairCalls):
    """Every admin call (the pairs, trades and breakers ones come from AdminPairCalls)."""

    async def users(self, telegram_id: int, page: object = 1, per_page: int = 20) -> UserPage:
        """Every registered user, oldest first, one page at a time (a page past the last is empty)."""
        size = max(1, min(int(per_page), MAX_PER_PAGE))
        number = parse_whole(page, 1, 10**6, f"The page must be a whole number, 1 or more (got {shown(page)}).")
        async with self.ctx.transaction() as session:
            admin = await self._admin(session, telegram_id)
            total = int(await session.scalar(select(func.count()).select_from(User)) or 0)
            rows = list(await session.scalars(select(User).order_by(User.id).offset((number - 1) * size).limit(size)))
            ids = [user.id for user in rows]
            counts = dict(
                (uid, int(n))
                for uid, n in await session.execute(
                    select(UserPair.user_id, func.count())
                    .where(UserPair.user_id.in_(ids), UserPair.status != "stopped")
                    .group_by(UserPair.user_id)
                )
            )
            states = {s.user_id: s for s in await session.scalars(select(UserState).where(UserState.user_id.in_(ids)))}
            accounts: dict[int, str] = {}
            for account in await session.scalars(
                select(ExchangeAccount)
                .where(ExchangeAccount.user_id.in_(ids), ExchangeAccount.is_active.is_(True))
                .order_by(ExchangeAccount.id.desc())
            ):  # the newest active account of each, as AccountRepository.active
                accounts.setdefault(account.user_id, AccountView.of(account).label)
            views = []
            for user in rows:
                state = states.get(user.id)
                marked = user.id in accounts and state is not None and state.day is not None  # the engines booked it
                views.append(
                    AdminUserView(
                        user.telegram_id, user.display_name, user.username, user.mode, user.status, user.is_admin,
                        counts.get(user.id, 0), accounts.get(user.id), state.equity if marked and state else None,
                        user.created_at,
                    )
                )  # fmt: skip
            await self._audit(session, telegram_id, "admin_users", admin.id if admin else None, page=number)
            return UserPage(tuple(views), number, max(1, -(-total // size)), total)

    async def stats(self, telegram_id: int) -> AdminStats:
        """What the database knows of the whole installation, and the engines of this process when they run here."""
        ctx = self.ctx
        now = ctx.now()
        midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
        async with ctx.transaction() as session:
            admin = await self._admin(session, telegram_id)
            by_status = {
                s: int(n) for s, n in await session.execute(select(User.status, func.count()).group_by(User.status))
            }
            pairs = {
                s: int(n)
                for s, n in await session.execute(select(UserPair.status, func.count()).group_by(UserPair.status))
            }
            held = {tuple(row) for row in await session.execute(select(PositionRow.user_id, PositionRow.symbol))}
            held |= {
                tuple(row)
                for row in await session.execute(
                    select(TradeRow.user_id, TradeRow.symbol).where(TradeRow.status == "open")
                )
            }
            opened = await session.scalar(
                select(func.count()).select_from(TradeRow).where(TradeRow.opened_at >= midnight)
            )
            closed = await session.scalar(
                select(func.count()).select_from(TradeRow).where(TradeRow.closed_at >= midnight)
            )
            waiting = await session.scalar(
                select(func.count())
                .select_from(AlertOutbox)
                .where(AlertOutbox.sent_at.is_(None), AlertOutbox.dropped.is_(False))
            )
            beating = await session.scalar(
                select(func.count())
                .select_from(EngineHeartbeat)
                .where(EngineHeartbeat.updated_at >= now - timedelta(seconds=BEATING_S))
                .where(EngineHeartbeat.status.in_(("running", "paused")))
            )
            loaded, trading = self._engines()
            await self._audit(session, telegram_id, "admin_stats", admin.id if admin else None)
        return AdminStats(
            sum(by_status.values()), by_status.get("active", 0), by_status.get("paused", 0),
            by_status.get("blocked", 0), tuple(sorted(pairs.items())), len(held), int(opened or 0),
            int(closed or 0), int(waiting or 0), loaded, trading, int(beating or 0),
        )  # fmt: skip

    def _engines(self) -> tuple[int | None, int | None]:
        control = self.ctx.control
        if not isinstance(control, ManagerControl):
            return None, None
        manager = control.manager
        trading = sum(
            1
            for key, engine in manager.engines.items()
            if not engine.config.paused and getattr(manager.supervision.get(key), "status", None) != "error"
        )
        return len(manager.engines), trading

    async def set_user_status(
        self, telegram_id: int, target: object, status: object, reason: object = None
    ) -> UserStatusChanged:
        """paused: every pair of the user pauses (their engines open nothing new) and the user cannot resume them;
        active: the pairs the operator paused trade again. The user is told through the outbox."""
        ctx = self.ctx
        wanted = parse_choice(status, ("paused", "active"), "The status")
        who = target_id(target)
        why = _clean(reason, MAX_REASON_CHARS) if reason is not None else ""
        if len(why) > MAX_REASON_CHARS:
            raise InvalidInput(f"The reason is too long: at most {MAX_REASON_CHARS} characters.")
        async with ctx.serialized(who):
            async with ctx.transaction() as session:
                await self._admin(session, telegram_id)
                users = UserRepository(session)
                user = await self._target(session, telegram_id, who, lock=True)
                if user.status == "blocked":
                    raise InvalidInput(
                        f"User {who} is blocked by the operator; a blocked user is neither paused nor resumed."
                    )
                previous, pairs = user.status, await live_pairs(session, user)
                if wanted == "paused":
                    todo = [p for p in pairs if p.status != "paused"]
                    label = f"{OPERATOR_PAUSE}: {why}" if why else OPERATOR_PAUSE
                    changes = await set_paused(ctx, session, user, todo, label)
                else:
                    todo = [p for p in pairs if p.status == "paused" and _by_operator(p)]
                    changes = await self._resume(session, user, todo)
                await users.set_status(user.id, wanted)
                done = tuple(symbol for symbol, _ in changes)
                told = previous != wanted or bool(done)
                if told:
                    notice = _notice(wanted, why, done)
                    await OutboxRepository(session).enqueue(user.id, NOTICE_KIND, notice, utc_now())
                await self._audit(
                    session, telegram_id, "admin_pause_user" if wanted == "paused" else "admin_resume_user", user.id,
                    target=who, previous=previous, pairs=list(done), reason=why or None,
                )  # fmt: skip
                user_id, name = user.id, name_of(user)
                unchanged = tuple(p.symbol for p in pairs if p.symbol not in done)
            await tell_changed(ctx, user_id, changes, "paused by the operator" if wanted == "paused" else "resumed")
            if told:
                ctx.outbox_queued()
            return UserStatusChanged(who, name, wanted, previous, done, unchanged, why or None, told)

    async def _resume(self, session: AsyncSession, user: User, pairs: list[UserPair]) -> list[tuple[str, PairChange]]:
        """What PairCalls.resume does for each pair, for pairs the operator paused."""
        repository, changes = PairRepository(session), []
        for pair in pairs:
            await repository.set_status(user.id, pair.symbol, "active")
            changes.append((pair.symbol, self.ctx.pair_change(user, pair)))
        return changes

    async def broadcast(self, telegram_id: int, text: object) -> int:
        """Queue `text` (HTML-escaped) to every user who is not blocked; returns how many were queued."""
        message = _clean(text, MAX_BROADCAST_CHARS) if isinstance(text, str) else ""
        if not message:
            raise InvalidInput("Write the message to send: /broadcast <text>.")
        if len(message) > MAX_BROADCAST_CHARS:
            raise InvalidInput(f"The message is too long: at most {MAX_BROADCAST_CHARS} characters.")
        html = f"<b>📣 Message from the operator</b>\n{escape(message)}"
        async with self.ctx.transaction() as session:
            admin = await self._admin(session, telegram_id)
            recipients = list(await session.scalars(select(User.id).where(User.status != "blocked").order_by(User.id)))
            outbox, at = OutboxRepository(session), utc_now()  # the sender's clock decides when a row is due
            for user_id in recipients:
                await outbox.enqueue(user_id, BROADCAST_KIND, html, at)
            await self._audit(
                session, telegram_id, "admin_broadcast", admin.id if admin else None,
                recipients=len(recipients), chars=len(message), text=message[:200],
            )  # fmt: skip
        self.ctx.outbox_queued()  # committed: the sender delivers now rather than at its next idle pass
        return len(recipients)


def _by_operator(pair: UserPair) -> bool:
    return (pair.status_reason or "").startswith(OPERATOR_PAUSE)


def _notice(status: str, reason: str, pairs: tuple[str, ...]) -> str:
    """What the user reads in their chat (HTML, outside strings escaped)."""
    if status == "paused":
        lines = ["<b>⏸ The operator paused your account</b>"]
        if reason:
            lines.append(f"Reason: {escape(reason)}")
        lines.append("Your pairs open no new positions; open positions keep their stop loss and take profit. They "
                     "trade again when the operator resumes your account.")  # fmt: skip
    else:
        lines = ["<b>▶️ The operator resumed your account</b>"]
        names = ", ".join(escape(symbol) for symbol in pairs)
        lines.append(f"Trading again: {names}." if names else "You can /resume your pairs again.")
    return "\n".join(lines)

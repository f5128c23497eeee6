"""Alerts through an outbox: the engine's notifier writes each alert to the database, a sender delivers them in
order per user and marks each sent only once Telegram accepted it. Telegram down, a flood-control pause or a
restart therefore delays alerts and loses none (delivery is at least once: a crash between Telegram's answer and
the mark can repeat one alert). For /metrics the sender counts messages sent and undelivered (deferred or
dropped); the outbox repository counts them queued."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from loguru import logger

from bot.alerts import render, split_message, wants
from db.database import Database
from db.models import AlertOutbox
from db.repositories.outbox import OutboxRepository
from db.repositories.users import UserRepository
from domain.money import utc_now
from engine.events import EngineEvent
from telemetry import METRICS


class DeliveryDeferred(Exception):
    """Telegram could not take the message now (unreachable, 5xx, flood control): try again later."""

    def __init__(self, error: str, retry_after_s: float | None = None) -> None:
        super().__init__(error)
        self.retry_after_s = retry_after_s


class DeliveryRefused(Exception):
    """Telegram will never take it (the user blocked the bot, the chat is gone): stop trying."""


Send = Callable[[int, str], Awaitable[None]]  # (chat id, HTML text) -> delivered, or raises one of the above


class OutboxNotifier:
    """The engine's notifier port: the alert goes to the database (filtered by the owner's settings)."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self.database = database
        self.clock = clock
        self.queued = asyncio.Event()  # set on every new alert; the sender waits on it

    async def notify(self, event: EngineEvent) -> None:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(event.user_id)
            if user is None or not wants(user.settings, event.kind):
                return
            outbox, at = OutboxRepository(session), self.clock()
            for part in split_message(render(event)):  # a row per message: a retry never resends a part
                await outbox.enqueue(event.user_id, event.kind.value, part, at)
        self.queued.set()


class OutboxSender:
    def __init__(
        self,
        database: Database,
        send: Send,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 100,
        backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        idle_s: float = 30.0,
    ) -> None:
        self.database, self.send, self.clock = database, send, clock
        self.batch, self.backoff_s, self.max_backoff_s, self.idle_s = batch, backoff_s, max_backoff_s, idle_s
        self.delivered = 0
        self.paused_until: datetime | None = None  # flood control: Telegram asked the bot to wait
        self._pass = asyncio.Lock()  # the sender's loop and the scheduler's retry job never deliver at once

    async def deliver_due(self) -> int:
        """One pass over the due alerts; returns how many were delivered. A user's later alerts wait while an
        earlier one is deferred, so each user reads them in order; flood control pauses every delivery."""
        async with self._pass:
            return await self._deliver_due()

    async def _deliver_due(self) -> int:
        if self.paused_until is not None and self.clock() < self.paused_until:
            return 0
        async with self.database.transaction() as session:
            rows = await OutboxRepository(session).due(self.clock(), self.batch)
            chats = {}
            for user_id in {row.user_id for row in rows}:
                user = await UserRepository(session).get(user_id)
                if user is not None:
                    chats[user_id] = user.telegram_id
        held: set[int] = set()
        delivered = 0
        for row in rows:
            if row.user_id in held or row.user_id not in chats:
                continue
            outcome = await self._deliver(row, chats[row.user_id])
            if outcome == "sent":
                delivered += 1
            elif outcome == "deferred":
                held.add(row.user_id)
            elif outcome == "flood":
                break
        self.delivered += delivered
        return delivered

    async def _deliver(self, row: AlertOutbox, chat_id: int) -> str:
        try:
            await self.send(chat_id, row.text)
        except DeliveryRefused as refused:
            reason = str(refused)
            await self._mark(lambda repo: repo.mark_dropped(row.id, reason))
            METRICS.alert_undelivered("dropped")
            logger.bind(user=row.user_id).warning("alert dropped: {}", reason)
            return "dropped"
        except DeliveryDeferred as deferred:
            delay = deferred.retry_after_s
            if delay is None:
                delay = min(self.max_backoff_s, self.backoff_s * 2**row.attempts)
            at, error = self.clock() + timedelta(seconds=delay), str(deferred)
            await self._mark(lambda repo: repo.mark_retry(row.id, error, at))
            METRICS.alert_undelivered("deferred")
            if deferred.retry_after_s is None:
                return "deferred"
            self.paused_until = at
            return "flood"
        await self._mark(lambda repo: repo.mark_sent(row.id, self.clock()))
        METRICS.alert_sent()
        return "sent"

    async def _mark(self, change: Callable[[OutboxRepository], Awaitable[None]]) -> None:
        async with self.database.transaction() as session:
            await change(OutboxRepository(session))

    async def run(self, queued: asyncio.Event | None = None) -> None:
        """Deliver until cancelled: after each pass, sleep until the next retry is due, a new alert is queued,
        or idle_s passes."""
        while True:
            if queued is not None:
                queued.clear()  # before the pass: an alert queued during it wakes the next one
            try:
                await self.deliver_due()
                async with self.database.transaction() as session:
                    next_at = await OutboxRepository(session).next_due_at()
            except Exception:  # noqa: BLE001 - a lost database connection: try again after a pause
                logger.exception("alert delivery pass failed")
                next_at = None
            wait = self.idle_s
            if self.paused_until is not None and self.paused_until > self.clock():
                next_at = max(next_at, self.paused_until) if next_at is not None else self.paused_until
            if next_at is not None:
                wait = max(0.0, min(wait, (next_at - self.clock()).total_seconds()))
            if queued is None or (self.paused_until is not None and self.paused_until > self.clock()):
                await asyncio.sleep(wait)
                continue
            try:
                await asyncio.wait_for(queued.wait(), timeout=wait)
            except TimeoutError:
                pass

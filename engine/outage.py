"""The database going away is not an engine's bug: engines that meet it wait, together, until it answers again.

One outage at a time per manager: the first engine to meet it starts one probe (a SELECT 1 every few seconds)
and logs the outage once; every other engine waits on the same probe. When the database answers, the end is
logged once and each user with an engine in the manager is told once, through the notifier (the alert outbox:
it lives in that database, so it could not take the alert before). No crash is counted: no pair goes to `error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from loguru import logger

from domain.money import ms_to_datetime
from engine.clock import Clock
from engine.events import EngineEvent, EventKind
from engine.notifier import Notifier

__all__ = ["DatabaseOutage", "is_unavailable"]


def is_unavailable(exc: BaseException) -> bool:
    """db.database.is_unavailable, imported when first asked: a backtest's engines never load SQLAlchemy."""
    from db.database import is_unavailable as check

    return check(exc)


Probe = Callable[[], Awaitable[None]]


class DatabaseOutage:
    def __init__(self, probe: Probe, notifier: Notifier, clock: Clock, every_s: float = 2.0) -> None:
        self.probe, self.notifier, self.clock, self.every_s = probe, notifier, clock, every_s
        self.outages = 0  # how many have ended, for health checks and tests
        self._waiting: dict[int, str] = {}  # user -> one of the user's symbols that waited
        self._probing: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._probing is not None and not self._probing.done()

    async def wait(self, pairs: Iterable[tuple[int, str]], error: str) -> None:
        """Return once the database answers again; the users of `pairs` (the engines that stand still meanwhile)
        are told when it does."""
        for user_id, symbol in pairs:
            self._waiting.setdefault(user_id, symbol)
        if not self.active:
            self._probing = asyncio.create_task(self._until_back(error), name="database probe")
        assert self._probing is not None
        await asyncio.shield(self._probing)

    async def _until_back(self, error: str) -> None:
        started = time.monotonic()
        logger.warning("database unavailable ({}): the engines wait until it answers", error)
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.probe()
                break
            except Exception:  # noqa: BLE001 - still down: probe again
                continue
        seconds = time.monotonic() - started
        self.outages += 1
        logger.warning("database back after {:.0f} s: the engines resume where they stopped", seconds)
        waiting, self._waiting = self._waiting, {}
        at = ms_to_datetime(self.clock.now_ms())
        message = (
            f"Quorum could not reach its database for about {max(1, round(seconds))} s; your engines waited and "
            "have resumed where they stopped."
        )
        for user_id, symbol in waiting.items():
            try:
                await self.notifier.notify(EngineEvent(EventKind.ENGINE_ERROR, user_id, symbol, at, message))
            except Exception:  # noqa: BLE001
                logger.exception("could not deliver the database alert")

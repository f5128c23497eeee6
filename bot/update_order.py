"""How the Telegram transport takes updates: many users at once, each user's one after another, in order.

python-telegram-bot handles one update at a time by default, so one user's slow command (a chart, a database
write, a reply waiting for Telegram's flood limit) holds every other user's answer. With concurrent_updates=N it
takes N at once in no order, so a user's /addpair could run before the /connect sent just before it. PerUserOrder
takes up to N at once, one user's (one chat's, for an update without a user) strictly in the order Telegram
delivered them: each user sees the bot as if it served them alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 256


@dataclass(slots=True)
class _Turns:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: waiters get it in the order they asked
    holders: int = 0  # updates of this owner running or waiting


class PerUserOrder(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._owners: dict[int, _Turns] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        owner = _owner(update)
        if owner is None:
            await coroutine
            return
        turns = self._owners.setdefault(owner, _Turns())
        turns.holders += 1
        try:
            async with turns.lock:
                await coroutine
        finally:
            turns.holders -= 1
            if not turns.holders:
                del self._owners[owner]

    @property
    def owners(self) -> int:
        """Users (or chats) with an update running or waiting now."""
        return len(self._owners)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _owner(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None

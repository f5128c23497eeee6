"""The lock that serialises the calls of one paper account, with an uncontended acquire that does not await.

asyncio.Lock costs about five Python calls per `async with` (__aenter__, acquire, __aexit__, release,
_wake_up_first), and a paper account is locked several times a backtest cycle, never contended there. Here a
free lock is taken by one synchronous call:

    if not lock.try_acquire():
        await lock.acquire()
    try:
        ...
    finally:
        lock.release()

Mutual exclusion: `_held` is True from the moment a caller takes the lock until the last holder releases it with
nobody waiting. release() hands the lock straight to the oldest waiter still waiting (a future given a result)
without ever clearing `_held` in between, so a newcomer can never slip in between a release and the waiter's
resumption; a waiter is only ever queued while the lock is held, so "not held" implies "nobody waits", and
try_acquire() needs to look at `_held` alone. Waiters are served in arrival order, as by asyncio.Lock. A waiter
canceled before its turn leaves the queue; one canceled just after the lock was handed to it passes it on.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Mutex:
    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        """Take the lock if it is free (then nobody waits for it either); False, and nothing changed, if not."""
        if self._held:
            return False
        self._held = True
        return True

    async def acquire(self) -> None:
        """Wait for the lock, in turn; on return the caller holds it."""
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as the task was canceled: pass it on
            else:
                waiter.cancel()
                if waiter in self._waiters:  # else release() already dropped it
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the lock to the oldest waiter still waiting (it stays held), or free it when none is left."""
        if not self._held:
            raise RuntimeError("Mutex released while not held.")
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()

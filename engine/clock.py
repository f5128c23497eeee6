"""The engine's clock port: wall time aligned to candle closes when live, a simulated clock in a replay."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep_until(self, ms: int) -> None:
        """Return once now_ms() >= ms."""
        ...


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until(self, ms: int) -> None:
        while (delay := ms - self.now_ms()) > 0:
            await asyncio.sleep(delay / 1000)


class ReplayClock:
    """Wraps the replay feed's SimulatedClock: sleeping moves simulated time forward at once."""

    def __init__(self, simulated) -> None:  # adapters.exchange.replay.SimulatedClock
        self.simulated = simulated

    def now_ms(self) -> int:
        return int(self.simulated.now_ms())

    async def sleep_until(self, ms: int) -> None:
        if ms > self.simulated.now_ms():
            self.simulated.advance_to(ms)


def next_close(now_ms: int, period_ms: int) -> int:
    """The first candle close (a multiple of period_ms since the epoch, UTC) strictly after now_ms."""
    return (now_ms // period_ms + 1) * period_ms


def last_close(now_ms: int, period_ms: int) -> int:
    """The latest candle close at or before now_ms."""
    return now_ms // period_ms * period_ms


class ScaledClock:
    """Simulated time running `speed` times faster than the wall clock from `start_ms` (`quorum run --replay`):
    the replay feed's clock follows, so candles appear as their close times pass."""

    def __init__(self, simulated, start_ms: int, speed: float, wall=time.monotonic) -> None:
        if not speed > 0:
            raise ValueError("the speed must be a positive number")
        self.simulated, self.start_ms, self.speed, self._wall = simulated, int(start_ms), float(speed), wall
        self._wall0 = wall()
        if start_ms > simulated.now_ms():
            simulated.advance_to(start_ms)

    def now_ms(self) -> int:
        now = self.start_ms + int((self._wall() - self._wall0) * 1000 * self.speed)
        if now > self.simulated.now_ms():
            self.simulated.advance_to(now)
        return int(self.simulated.now_ms())

    async def sleep_until(self, ms: int) -> None:
        while (delay := ms - self.now_ms()) > 0:
            await asyncio.sleep(delay / 1000 / self.speed)

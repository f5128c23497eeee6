"""A simulated clock that a backtest or the offline demo advances by hand.

The replay feed reveals only what has happened by `now_ms()`, so moving this clock is the one way time passes.
"""

from __future__ import annotations

from datetime import datetime

from domain.money import ms_to_datetime


class SimulatedClock:
    """Monotonic UTC time in milliseconds; it never runs backwards, so a replay can never un-reveal a candle."""

    def __init__(self, start_ms: int) -> None:
        self._now_ms = int(start_ms)

    def now_ms(self) -> int:
        return self._now_ms

    def now(self) -> datetime:
        return ms_to_datetime(self._now_ms)

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError(f"the clock only moves forward; cannot advance by {ms} ms")
        self._now_ms += int(ms)
        return self._now_ms

    def advance_to(self, ms: int) -> int:
        if ms < self._now_ms:
            raise ValueError(f"the clock only moves forward; {ms} is before the current time {self._now_ms}")
        self._now_ms = int(ms)
        return self._now_ms

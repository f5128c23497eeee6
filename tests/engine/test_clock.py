"""The clocks: the scaled replay clock runs `speed` times faster than the wall and drags the feed's clock along."""

from __future__ import annotations

import pytest

from adapters.exchange.replay.clock import SimulatedClock
from engine.clock import ScaledClock, last_close, next_close


class Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_scaled_clock_when_wall_time_passes_then_simulated_time_runs_speed_times_faster() -> None:
    feed_clock, wall = SimulatedClock(0), Wall()
    clock = ScaledClock(feed_clock, 1_000_000, 3600, wall)  # an hour a second
    assert clock.now_ms() == 1_000_000 and feed_clock.now_ms() == 1_000_000
    wall.t += 2.5
    assert clock.now_ms() == 1_000_000 + 9_000_000 and feed_clock.now_ms() == clock.now_ms()
    feed_clock.advance_to(20_000_000)  # the feed moved on by itself: the clock never reads earlier than the feed
    assert clock.now_ms() == 20_000_000


async def test_scaled_clock_when_sleeping_to_a_time_then_wakes_after_it() -> None:
    clock = ScaledClock(SimulatedClock(0), 0, 100_000)  # real wall time, fast
    target = clock.now_ms() + 5_000
    await clock.sleep_until(target)
    assert clock.now_ms() >= target


def test_scaled_clock_when_speed_is_not_positive_then_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(SimulatedClock(0), 0, 0)


def test_candle_closes_are_utc_multiples() -> None:
    assert next_close(3_599_999, 3_600_000) == 3_600_000 and next_close(3_600_000, 3_600_000) == 7_200_000
    assert last_close(7_199_999, 3_600_000) == 3_600_000

"""The live runtime on historical candles: `quorum run --replay FILE --speed X`, `quorum demo` and the end-to-end
tests.

Everything is the live wiring (LiveRuntime: engines for the pairs in the database, paper accounts in
paper_ledgers, the service's control) with one difference: the market data is a replay feed, whose clock runs
X times faster than the wall (ScaledClock) or is stepped tick by tick by the caller (stepped=True, for a
deterministic run). The indicators are computed once over each whole series, as in a backtest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from adapters.ai.shared import SharedEnsemble
from adapters.exchange.port import MarketData
from adapters.exchange.replay import ReplayFeed
from analysis.indicator_series import IndicatorSeries
from config.settings import Settings
from db.database import Database
from domain.market import MarketType
from engine.clock import Clock, ReplayClock, ScaledClock
from engine.live import AccountWrapper, LiveRuntime
from engine.notifier import Notifier
from engine.replay import timeframes_for
from engine.service_gateway import FeedGateway


@dataclass(slots=True)
class ReplayRuntime:
    runtime: LiveRuntime
    feed: ReplayFeed
    gateway: FeedGateway
    symbol: str
    market_type: MarketType

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def last_close_ms(self) -> int:
        return self.feed.series(self.symbol).last_close_ms

    async def run_stepped(self, start_ms: int, end_ms: int, on_tick=None) -> None:
        """Step every engine at each tick in [start_ms, end_ms] (stepped runtimes only)."""
        if start_ms > self.feed.clock.now_ms():
            self.feed.clock.advance_to(start_ms)
        await self.runtime.manager.run_replay(self.feed.clock.advance_to, start_ms, end_ms, on_tick)

    async def play(self, end_ms: int | None = None, poll_s: float = 0.05) -> None:
        """`quorum run --replay`: returns once every engine has stepped the tick at end_ms (default: the file's
        last candle). Stepped, the ticks from the clock's now are stepped here, as fast as the engines go (the
        same data always gives the same books); otherwise the engines' own tasks step as the clock passes."""
        end = min(end_ms if end_ms is not None else self.last_close_ms, self.last_close_ms)
        start = self.feed.clock.now_ms()
        if self.runtime.stepped:
            if start <= end:
                await self.run_stepped(start, end)
            return
        await self.clock.sleep_until(end)
        watches = self.runtime.manager.supervision
        while any(w.status != "error" and (w.last_step_ms or 0) < end for w in list(watches.values())):
            await asyncio.sleep(poll_s)


def build_replay_runtime(
    database: Database,
    settings: Settings,
    notifier: Notifier,
    ensemble: SharedEnsemble,
    *,
    data: Path,
    symbol: str = "BTC/USDT",
    market_type: MarketType = MarketType.PERPETUAL,
    start_ms: int | None = None,
    speed: float | None = None,
    stepped: bool = False,
    cycle_ms: int | None = None,
    wrap_account: AccountWrapper | None = None,
) -> ReplayRuntime:
    """A LiveRuntime whose every exchange is the replay of `data` (traded as `symbol`), from start_ms (default:
    the file's first close). speed: simulated time per wall time (ScaledClock); stepped: the caller steps."""
    feed = ReplayFeed.from_file(data, symbol=symbol, market_type=market_type)
    series = feed.series(symbol)
    start = series.first_close_ms if start_ms is None else max(start_ms, series.first_close_ms)
    start -= start % series.base_ms
    feed.clock.advance_to(max(start, feed.clock.now_ms()))
    clock: Clock
    if stepped:
        clock = ReplayClock(feed.clock)
    else:
        clock = ScaledClock(feed.clock, start, speed or 3600.0)
    timeframes = timeframes_for(series.base_timeframe)

    def public(exchange_id: str, wanted: MarketType) -> MarketData:
        return feed

    base = series.base_ms
    cycle = cycle_ms or settings.cycle_interval_minutes * 60_000
    runtime = LiveRuntime(
        database, settings, notifier, ensemble, clock=clock, public_factory=public, tick_ms=base,
        cycle_ms=-(-cycle // base) * base, stepped=stepped, timeframes=timeframes, wrap_account=wrap_account,
    )  # fmt: skip
    hub = runtime.hub_for(settings.default_exchange, market_type)
    for timeframe in timeframes:
        candles = series.ohlcv(timeframe, series.last_close_ms, None, 10**9, False)
        hub.preload(feed.exchange_id, symbol, timeframe, IndicatorSeries(candles))
    return ReplayRuntime(runtime, feed, FeedGateway(feed), symbol, market_type)

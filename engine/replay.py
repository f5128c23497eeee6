"""Wiring for a run over history: the replay feed and a simulated clock, paper accounts, the shared hub with the
indicators computed once over each whole series, and the engines stepped by the manager. The backtest is this plus
its own output; the trading is the engine's. (The offline demo runs the live runtime instead: engine/replay_runtime.py.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from adapters.ai.shared import SharedEnsemble
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.paper.state import InMemoryPaperStateStore, PaperStateStore
from adapters.exchange.replay import ReplayFeed
from analysis.indicator_series import IndicatorSeries
from domain.market import MarketInfo, MarketType, timeframe_ms
from engine.clock import ReplayClock
from engine.manager import MultiPairManager
from engine.market_hub import HubConfig, MarketHub
from engine.notifier import Notifier
from engine.pair_engine import PairConfig, PairEngine
from engine.state import UserBook
from engine.store import EngineStore
from risk import RiskLimits, RiskManager

HOUR_MS = 3_600_000
LONGER = ("4h", "1d")


def timeframes_for(base: str) -> tuple[str, ...]:
    """The base timeframe and up to two longer ones for confirmation (1h -> 1h, 4h, 1d)."""
    base_ms = timeframe_ms(base)
    longer = [tf for tf in LONGER if timeframe_ms(tf) > base_ms and timeframe_ms(tf) % base_ms == 0]
    return (base, *longer[:2])


@dataclass(frozen=True, slots=True)
class ReplayAccount:
    """One user's paper account and pair in a replay."""

    user_id: int
    balance: Decimal
    budget: Decimal
    leverage: int
    state_store: PaperStateStore | None = None


@dataclass(slots=True)
class ReplaySession:
    feed: ReplayFeed
    hub: MarketHub
    manager: MultiPairManager
    engines: list[PairEngine] = field(default_factory=list)
    papers: list[PaperExchange] = field(default_factory=list)

    @classmethod
    async def build(
        cls,
        *,
        data: Path,
        symbol: str,
        base_timeframe: str,
        market_type: MarketType,
        ensemble: SharedEnsemble,
        store: EngineStore,
        notifier: Notifier,
        limits: RiskLimits,
        accounts: Sequence[ReplayAccount],
        cycle_ms: int,
        taker_fee: Decimal | None = None,
        maker_fee: Decimal | None = None,
        record_equity: bool = True,
    ) -> ReplaySession:
        """record_equity: each cycle's equity snapshot goes to the store too (a backtest reads the engines'
        equity_curve instead, and its store keeps nothing of them)."""
        feed = ReplayFeed.from_file(data, symbol=symbol, market_type=market_type, base_timeframe=base_timeframe)
        timeframes = timeframes_for(feed.series(symbol).base_timeframe)
        hub = MarketHub({feed.exchange_id: feed}, ensemble, config=HubConfig(timeframes, timeframes[0]))
        series = feed.series(symbol)
        for timeframe in timeframes:
            candles = series.ohlcv(timeframe, series.last_close_ms, None, 10**9, False)
            hub.preload(feed.exchange_id, symbol, timeframe, IndicatorSeries(candles))
        manager = MultiPairManager(clock=ReplayClock(feed.clock), notifier=notifier, tick_ms=series.base_ms)
        session = cls(feed, hub, manager)
        for account in accounts:
            paper = await PaperExchange.open(
                feed,
                account.state_store or InMemoryPaperStateStore(),
                starting_balances={"USDT": account.balance},
                clock=feed.clock.now_ms,
                config=PaperConfig(candle_timeframe=series.base_timeframe, taker_fee=taker_fee, maker_fee=maker_fee),
            )
            market = await paper.market(symbol)
            config = paper.account.config  # the risk manager sizes with the fees this account really pays
            risk_market = _with_fees(market, config.taker(market), config.maker(market))
            book = await store.load_user(account.user_id) or UserBook(
                account.user_id, equity=account.balance, balance=account.balance, peak_equity=account.balance,
                day_start_equity=account.balance,
            )  # fmt: skip
            engine = PairEngine(
                user_id=account.user_id,
                symbol=symbol,
                exchange=paper,
                market=risk_market,
                hub=hub,
                store=store,
                notifier=notifier,
                risk=RiskManager(limits),
                book=book,
                config=PairConfig(account.budget, account.leverage, cycle_ms),
                record_equity=record_equity,
            )
            manager.add(engine)
            session.engines.append(engine)
            session.papers.append(paper)
        return session

    async def run(self, start_ms: int, end_ms: int, close_at_end: bool = True) -> None:
        """Cycles at every tick in [start_ms, end_ms); at end_ms only the monitor runs, then (by default) each
        position still open is closed at the last price, so the run ends flat."""
        tick = self.manager.tick_ms
        await self.manager.run_replay(self.feed.clock.advance_to, start_ms, end_ms - tick)
        self.feed.clock.advance_to(end_ms)
        for engine in self.engines:
            await engine.monitor(end_ms)
            if close_at_end:
                await engine.close_position(end_ms, "end_of_replay")
                await engine.mark(end_ms)
            await engine.store.save_user(engine.book)  # the account as the run ends, not as the last cycle saw it


def _with_fees(market: MarketInfo, taker: Decimal, maker: Decimal) -> MarketInfo:
    from dataclasses import replace

    return replace(market, taker_fee=taker, maker_fee=maker)

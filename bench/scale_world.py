"""The world of the scale benchmark: N users, one pair each, on 5 replayed symbols, one process.

Built only from the public pieces engine/replay.py wires (ReplayFeed, MarketHub, HubConfig, IndicatorSeries,
PaperExchange, PairEngine, MultiPairManager, MemoryEngineStore, the offline SharedEnsemble); no trading logic
lives here. engine/replay.py's ReplaySession is not used because it takes one symbol and one data file; with a
feed of several series, a symbol and risk overrides per account, one paper account and UserBook per user, and a
way to add accounts and step one tick after build, this module would shrink to the symbol transform below.

The 5 symbols all come from the shipped BTC/USD hourly file: symbol k is the same history shifted back in time
by k * SHIFT_DAYS days (so at any moment the 5 symbols are in different market regimes and the ensemble's
answers differ) and its prices scaled by a power-of-ten-ish factor (volumes by the inverse, so the 24h quote
volume, which the risk manager checks, stays that of the file). All 5 series are cut to the common window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from scale_feed import CountingFeed

from adapters.ai.factory import build_shared_ensemble
from adapters.ai.shared import SharedEnsemble
from adapters.exchange.candle_file import read_candles
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.paper.state import InMemoryPaperStateStore
from adapters.exchange.port import MarketData
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock, default_market
from analysis.indicator_series import IndicatorSeries
from config.settings import Settings
from domain.market import Candle, MarketType
from domain.trading import PositionSide
from engine.clock import ReplayClock
from engine.manager import MultiPairManager
from engine.market_hub import HubConfig, MarketHub
from engine.notifier import NullNotifier
from engine.pair_engine import PairConfig, PairEngine
from engine.replay import timeframes_for
from engine.shared_feed import SharedMarketData
from engine.state import UserBook
from engine.store import MemoryEngineStore
from risk import RiskLimits, RiskManager

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SHIFT_DAYS = 60
# symbol, price factor (volumes are divided by it); symbol k is shifted back by k * SHIFT_DAYS
SYMBOLS: tuple[tuple[str, Decimal], ...] = (
    ("BTC/USDT", Decimal(1)),
    ("ETH/USDT", Decimal("0.05")),
    ("SOL/USDT", Decimal("0.002")),
    ("XRP/USDT", Decimal("0.00005")),
    ("ADA/USDT", Decimal("0.00002")),
)


def offline_settings() -> Settings:
    return Settings(  # type: ignore[call-arg]  # pydantic-settings' own init argument: no .env file is read
        _env_file=None, openai_api_key=None, anthropic_api_key=None, deepseek_api_key=None
    )


def symbol_candles(base: Sequence[Candle], index: int, factor: Decimal, first: int, last: int) -> list[Candle]:
    """Candles of symbol `index`: the file's candle at ts + shift served at ts, prices * factor, volume / factor;
    only open times in [first, last]."""
    shift = index * SHIFT_DAYS * DAY_MS
    return [
        Candle(c.ts - shift, c.open * factor, c.high * factor, c.low * factor, c.close * factor, c.volume / factor)
        for c in base
        if first <= c.ts - shift <= last
    ]


def build_series(path: Path, market_type: MarketType) -> list[ReplaySeries]:
    base = read_candles(path)
    first = base[0].ts
    last = base[-1].ts - (len(SYMBOLS) - 1) * SHIFT_DAYS * DAY_MS
    series = []
    for index, (symbol, factor) in enumerate(SYMBOLS):
        candles = symbol_candles(base, index, factor, first, last)
        market = default_market(symbol, market_type, candles[0].close, "replay")
        series.append(ReplaySeries(market=market, candles=candles, base_timeframe="1h"))
    return series


@dataclass(frozen=True, slots=True)
class UserSpec:
    """One user's paper account and pair; balance, budget, leverage and risk overrides (the lowest confidence acted
    on, the risk per trade) differ a little from user to user."""

    user_id: int
    symbol: str
    balance: Decimal
    budget: Decimal
    leverage: int
    join_tick: int  # the warm-up tick the user starts trading at (users joined at different times)
    risk: tuple[tuple[str, str], ...] = ()  # the user's risk overrides (users.settings "risk")


def user_specs(users: int, warmup: int) -> list[UserSpec]:
    specs = []
    for i in range(users):
        balance = Decimal(1000 + 500 * (i * 7 % 19))  # 1,000 .. 10,000 USDT
        budget = (balance * Decimal(10 + i * 11 % 41) / 100).quantize(Decimal(1))  # 10% .. 50% of it
        leverage = 1 + i * 3 % 5  # 1 .. 5
        join = i * 5 % warmup if warmup > 0 else 0
        risk = (("min_confidence", f"0.{60 + 5 * (i * 3 % 4)}"), ("risk_per_trade", f"0.0{1 + i % 2}"))
        specs.append(UserSpec(i + 1, SYMBOLS[i % len(SYMBOLS)][0], balance, budget, leverage, join, risk))
    return specs


@dataclass(slots=True)
class World:
    feed: ReplayFeed
    hub_feed: CountingFeed
    paper_feed: CountingFeed
    hub: MarketHub
    manager: MultiPairManager
    store: MemoryEngineStore
    ensemble: SharedEnsemble
    series: list[ReplaySeries]
    preloaded: list[IndicatorSeries]
    engines: list[PairEngine] = field(default_factory=list)
    specs: list[UserSpec] = field(default_factory=list)
    paper_view: MarketData | None = None  # what the paper accounts read: the shared view, as engine/live.py wires it

    @property
    def clock(self) -> SimulatedClock:
        return self.feed.clock

    async def step(self, now_ms: int) -> None:
        """One tick of every engine the manager holds: the manager's own replay stepping, for one tick."""
        await self.manager.run_replay(self.feed.clock.advance_to, now_ms, now_ms)

    def sides(self) -> dict[str, int]:
        counts = {"long": 0, "short": 0, "flat": 0}
        for engine in self.engines:
            trade = engine.state.open_trade
            side = trade.side if trade is not None else PositionSide.FLAT
            counts[{PositionSide.LONG: "long", PositionSide.SHORT: "short"}.get(side, "flat")] += 1
        return counts

    def crashes(self) -> tuple[int, str | None]:
        watches = self.manager.supervision.values()
        errors = [w.last_error for w in watches if w.crashes]
        return sum(len(w.crashes) for w in watches), (errors[0] if errors else None)


async def build_world(
    path: Path,
    *,
    start_ms: int | None,
    keep_decisions: bool,
    preload: bool,
    market_type: MarketType = MarketType.PERPETUAL,
    shared_paper_feed: bool = True,
) -> World:
    """The shared part: feed, hub (indicators preloaded over each whole series), manager, store, ensemble."""
    series = build_series(path, market_type)
    first = max(s.first_close_ms for s in series)
    clock = SimulatedClock(start_ms if start_ms is not None else first)
    feed = ReplayFeed(clock, series, exchange_id="replay")
    hub_feed, paper_feed = CountingFeed(feed), CountingFeed(feed)
    settings = offline_settings()
    ensemble = build_shared_ensemble(settings)
    timeframes = timeframes_for("1h")
    hub = MarketHub({feed.exchange_id: hub_feed}, ensemble, config=HubConfig(timeframes, timeframes[0]))
    preloaded = []
    if preload:
        for item in series:
            for timeframe in timeframes:
                candles = item.ohlcv(timeframe, item.last_close_ms, None, 10**9, False)
                rows = IndicatorSeries(candles)
                hub.preload(feed.exchange_id, item.symbol, timeframe, rows)
                preloaded.append(rows)
    manager = MultiPairManager(clock=ReplayClock(clock), notifier=NullNotifier(), tick_ms=HOUR_MS)
    store = MemoryEngineStore(keep_decisions=keep_decisions)
    world = World(feed, hub_feed, paper_feed, hub, manager, store, ensemble, series, preloaded)
    world.paper_view = SharedMarketData(paper_feed, clock.now_ms) if shared_paper_feed else paper_feed
    return world


async def build_engine(world: World, spec: UserSpec, limits: RiskLimits, settings: Settings) -> PairEngine:
    """One user's paper account and engine, wired as engine/replay.py wires them; the caller hands it to the
    manager (world.manager.add) when the user joins."""
    paper = await PaperExchange.open(
        world.paper_view or world.paper_feed,
        InMemoryPaperStateStore(),
        starting_balances={"USDT": spec.balance},
        clock=world.clock.now_ms,
        config=PaperConfig(
            candle_timeframe="1h", taker_fee=settings.paper_taker_fee, maker_fee=settings.paper_maker_fee
        ),
    )
    market = await paper.market(spec.symbol)
    fees = paper.account.config  # the risk manager sizes with the fees this account really pays
    market = replace(market, taker_fee=fees.taker(market), maker_fee=fees.maker(market))
    book = UserBook(
        spec.user_id, equity=spec.balance, balance=spec.balance, peak_equity=spec.balance,
        day_start_equity=spec.balance,
    )  # fmt: skip
    engine = PairEngine(
        user_id=spec.user_id,
        symbol=spec.symbol,
        exchange=paper,
        market=market,
        hub=world.hub,
        store=world.store,
        notifier=world.manager.notifier,
        risk=RiskManager(limits.resolve(dict(spec.risk), None)),
        book=book,
        config=PairConfig(spec.budget, spec.leverage, HOUR_MS),
    )
    world.engines.append(engine)
    world.specs.append(spec)
    return engine

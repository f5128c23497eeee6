"""A small Quorum for the service tests: the real service over a real database, and real PairEngines (replay
feed, paper exchange, DbEngineStore, offline analysts) in a real MultiPairManager behind ManagerControl.

The shipped BTC/USD hourly candles are read and their indicators computed once per test session; each World
gets its own simulated clock, feed, hub and manager on top, so tests never share time or engines. The feed
offers BTC/USDT and ETH/USDT (the same candles under a second name), both perpetual.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from adapters.ai.factory import build_ensemble
from adapters.ai.shared import SharedEnsemble
from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.errors import AuthenticationFailed, ExchangeError
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock, default_market
from analysis.indicator_series import IndicatorSeries
from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from db.repositories import AccountRepository, DbPaperStateStore, PairRepository, UserRepository
from db.repositories.decisions import ConsultationInfo, DecisionRepository
from db.vote_recorder import vote_row
from domain.market import MarketInfo, MarketType
from domain.money import datetime_to_ms
from domain.snapshot import SnapshotKey, consultation_key
from domain.trading import Balance
from domain.vote import ConsensusResult
from engine.clock import ReplayClock
from engine.control import ManagerControl
from engine.manager import MultiPairManager
from engine.market_hub import HubConfig, MarketHub
from engine.notifier import InMemoryNotifier
from engine.pair_engine import PairConfig, PairEngine
from engine.replay import timeframes_for
from engine.service import QuorumService
from engine.service_gateway import ExchangeGateway, LiveAccess
from engine.service_prefs import pair_limits
from engine.state import UserBook
from engine.store_db import DbEngineStore
from risk import RiskLimits, RiskManager

BTC, ETH = "BTC/USDT", "ETH/USDT"
HOUR = 3_600_000
START = datetime_to_ms(datetime(2017, 7, 14, tzinfo=UTC))  # the offline analysts open a BTC position at 13:00
SETTINGS = Settings(
    _env_file=None, openai_api_key=None, anthropic_api_key=None, deepseek_api_key=None, openai_compatible_base_url=None
)


@functools.cache
def _history() -> tuple[ReplaySeries, dict[str, IndicatorSeries]]:
    candles = read_candles(shipped_candle_file())
    series = ReplaySeries(market=default_market(BTC, MarketType.PERPETUAL, candles[0].close), candles=candles,
                          base_timeframe="1h")  # fmt: skip
    indicators = {
        tf: IndicatorSeries(series.ohlcv(tf, series.last_close_ms, None, 10**9, False)) for tf in timeframes_for("1h")
    }
    return series, indicators


class KeyedVoteRecorder:
    """Stores each consultation's votes under the key the engine's decisions refer to (snapshot key plus the
    ensemble's fingerprint, domain.snapshot.consultation_key); db/vote_recorder.py leaves the fingerprint out."""

    def __init__(self, database: Database, fingerprint: str) -> None:
        self.database, self.fingerprint = database, fingerprint

    async def record(self, key: SnapshotKey, result: ConsensusResult, text_key: str = "") -> None:
        assert not text_key or text_key == consultation_key(key, self.fingerprint)
        info = ConsultationInfo(consultation_key(key, self.fingerprint), key.exchange, key.symbol, key.candle_ts,
                                key.position_side.value)  # fmt: skip
        async with self.database.transaction() as session:
            await DecisionRepository(session).record_consultation(info, [vote_row(v) for v in result.votes])


class ReplayGateway:
    """Markets of the replay feed; anything else (live accounts) goes to `live`, e.g. CcxtGateway on an emulator."""

    def __init__(self, feed: ReplayFeed, live: ExchangeGateway | None = None) -> None:
        self.feed, self.live = feed, live

    async def markets(self, exchange: str, market_type: MarketType) -> dict[str, MarketInfo]:
        if exchange == self.feed.exchange_id:
            return {s: m for s, m in (await self.feed.load_markets()).items() if m.type is market_type}
        if self.live is None:
            raise ExchangeError(f"{exchange} is not reachable in this test")
        return dict(await self.live.markets(exchange, market_type))

    async def balance(self, access: LiveAccess) -> Balance:
        if self.live is None:
            raise AuthenticationFailed(f"{access.exchange} is not reachable in this test")
        return await self.live.balance(access)


@dataclass
class World:
    database: Database
    settings: Settings
    feed: ReplayFeed
    hub: MarketHub
    shared: SharedEnsemble
    manager: MultiPairManager
    notifier: InMemoryNotifier
    service: QuorumService
    now: int = START
    papers: dict[int, PaperExchange] = field(default_factory=dict)
    books: dict[int, UserBook] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        database: Database,
        *,
        box: SecretBox | None = None,
        engines: bool = True,
        live: ExchangeGateway | None = None,
        settings: Settings = SETTINGS,
    ) -> World:
        btc, indicators = _history()
        eth = replace(btc, market=replace(btc.market, symbol=ETH, base="ETH"))
        feed = ReplayFeed(SimulatedClock(btc.first_close_ms), [btc, eth])
        timeframes = timeframes_for("1h")
        ensemble = build_ensemble(settings)
        shared = SharedEnsemble(ensemble, KeyedVoteRecorder(database, ensemble.fingerprint))
        hub = MarketHub({feed.exchange_id: feed}, shared, config=HubConfig(timeframes, timeframes[0]))
        for symbol in (BTC, ETH):
            for timeframe, rows in indicators.items():
                hub.preload(feed.exchange_id, symbol, timeframe, rows)
        notifier = InMemoryNotifier()
        manager = MultiPairManager(clock=ReplayClock(feed.clock), notifier=notifier, tick_ms=HOUR)
        world = cls(database, settings, feed, hub, shared, manager, notifier, service=None)  # type: ignore[arg-type]
        control = ManagerControl(manager, world.build_engine, start_engines=False) if engines else None
        world.service = QuorumService(
            database, settings, gateway=ReplayGateway(feed, live), box=box, control=control,
            clock=ReplayClock(feed.clock), paper_exchange=feed.exchange_id, leaderboard_ttl_s=0,
        )  # fmt: skip
        feed.clock.advance_to(START)
        return world

    async def build_engine(self, user_id: int, symbol: str) -> PairEngine:
        """What engine/live.py does for a paper account, on the replay feed: one paper exchange per account."""
        async with self.database.transaction() as session:
            pair = await PairRepository(session).get(user_id, symbol)
            assert pair is not None and pair.account_id is not None
            account = await AccountRepository(session).get(user_id, pair.account_id)
            user = await UserRepository(session).get(user_id)
            assert account is not None and account.paper_start_balance is not None and user is not None
        paper = self.papers.get(account.id)
        if paper is None:
            paper = self.papers[account.id] = await PaperExchange.open(
                self.feed, DbPaperStateStore(self.database, user_id, account.id),
                starting_balances={"USDT": account.paper_start_balance}, clock=self.feed.clock.now_ms,
                config=PaperConfig(candle_timeframe="1h"),
            )  # fmt: skip
        market = await paper.market(symbol)
        config = paper.account.config
        market = replace(market, taker_fee=config.taker(market), maker_fee=config.maker(market))
        start = account.paper_start_balance
        store = DbEngineStore(self.database)
        book = self.books.get(user_id) or await store.load_user(user_id)
        if book is None:
            book = UserBook(user_id, equity=start, balance=start, peak_equity=start, day_start_equity=start)
        self.books[user_id] = book
        limits = pair_limits(RiskLimits.from_settings(self.settings), user.settings, pair.risk_overrides)
        return PairEngine(
            user_id=user_id, symbol=symbol, exchange=paper, market=market, hub=self.hub, store=store,
            notifier=self.notifier, risk=RiskManager(limits), book=book,
            config=PairConfig(pair.budget, pair.leverage, HOUR, paused=pair.status != "active"),
        )  # fmt: skip

    async def run_hours(self, hours: int) -> None:
        """Step every engine at each hour from now on, `hours` times; the clock stays at the last step."""
        last = self.now + (hours - 1) * HOUR
        await self.manager.run_replay(self.feed.clock.advance_to, self.now, last)
        self.now = last + HOUR

    async def engine_store_status(self, user_id: int, symbol: str, status: str, reason: str) -> None:
        """What an engine writes when it pauses itself or the supervisor gives up on it."""
        await DbEngineStore(self.database).set_pair_status(user_id, symbol, status, reason)

    async def trader(self, telegram_id: int, name: str = "trader", balance: object = "10000") -> None:
        await self.service.accounts.register(telegram_id, name)
        await self.service.accounts.connect_paper(telegram_id, balance)

    async def close(self) -> None:
        await self.manager.shutdown()
        await self.shared.close()

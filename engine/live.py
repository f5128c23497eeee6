"""Live wiring: an engine for every runnable pair in the database, on live market data, supervised by the manager.

- Market data: one public client per (exchange, market type), shared by every engine through one MarketHub per
  market type (perpetual and spot books of one exchange are different markets).
- Accounts: one client per exchange account, shared by that account's engines and closed when its last engine
  stops. A paper account is a PaperExchange over the public client, its ledger in paper_ledgers; a live account
  is a private CCXT client with the account's decrypted keys (never logged).
- Users: one UserBook per user, shared by the user's engines (the daily-loss breaker is user-wide).
- State: everything durable is in the database (DbEngineStore), so a restarted process resumes every pair.
- Configuration: `refresh()` re-reads the pairs and applies a changed budget, leverage, pause or risk override
  to the running engine, starts engines for new pairs and stops engines for removed ones, without a restart;
  it also applies the breaker resets the admin CLI made from another process (engine/operator_resets.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from loguru import logger

from adapters.ai.shared import SharedEnsemble
from adapters.exchange.port import ExchangePort, MarketData
from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from db.models import ExchangeAccount, UserPair
from db.repositories.accounts import AccountRepository
from db.repositories.heartbeats import HeartbeatRepository
from db.repositories.pairs import PairRepository
from db.repositories.users import UserRepository
from domain.credentials import ExchangeCredentials
from domain.market import MarketType, timeframe_ms
from domain.money import ms_to_datetime
from engine.clock import Clock, WallClock
from engine.control import ManagerControl
from engine.manager import MultiPairManager, PairKey
from engine.market_hub import HubConfig, MarketHub, NewsSource
from engine.notifier import Notifier
from engine.operator_resets import BreakerResets
from engine.pair_engine import PairConfig, PairEngine
from engine.service_prefs import pair_limits
from engine.shared_feed import SharedMarketData
from engine.state import UserBook
from engine.store_db import DbEngineStore
from risk import RiskLimits, RiskManager

RUNNABLE = ("active", "paused")  # a paused pair still watches its open position (stops, take profits)
MONITOR_TICK_MS = 60_000

PublicFactory = Callable[[str, MarketType], MarketData]
AccountFactory = Callable[[ExchangeAccount, ExchangeCredentials | None, MarketData], Awaitable[ExchangePort]]
AccountWrapper = Callable[[ExchangeAccount, ExchangePort], ExchangePort]


class PairNotRunnable(LookupError):
    """The pair is missing, in error or stopped, or its account is gone: no engine can run it."""


@dataclass(slots=True)
class _Account:
    client: ExchangePort
    engines: set[PairKey] = field(default_factory=set)


def pair_config(pair: UserPair, cycle_ms: int) -> PairConfig:
    return PairConfig(pair.budget, pair.leverage, cycle_ms, paused=pair.status != "active")


class LiveRuntime:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        notifier: Notifier,
        ensemble: SharedEnsemble,
        *,
        box: SecretBox | None = None,
        clock: Clock | None = None,
        public_factory: PublicFactory | None = None,
        account_factory: AccountFactory | None = None,
        news: NewsSource | None = None,
        tick_ms: int = MONITOR_TICK_MS,
        cycle_ms: int | None = None,
        backoff_s: float = 1.0,
        stepped: bool = False,
        timeframes: tuple[str, ...] | None = None,
        wrap_account: AccountWrapper | None = None,
    ) -> None:
        """stepped: no engine tasks; the caller steps the manager tick by tick (manager.run_replay), as a
        deterministic run over history does."""
        self.database, self.settings, self.notifier, self.ensemble = database, settings, notifier, ensemble
        self.box = box
        self.clock = clock or WallClock()
        self.store = DbEngineStore(database)
        self.cycle_ms = cycle_ms or settings.cycle_interval_minutes * 60_000
        if self.cycle_ms % tick_ms:
            raise ValueError("the cycle interval must be a whole number of monitor ticks")
        self.manager = MultiPairManager(
            clock=self.clock, notifier=notifier, tick_ms=tick_ms, heartbeat=self._beat, backoff_s=backoff_s,
            probe=database.ping,
        )  # fmt: skip
        self.limits = RiskLimits.from_settings(settings)
        self._public_factory = public_factory or _ccxt_public(settings)
        self._account_factory = account_factory or default_account_factory(settings, database, self.clock)
        self._wrap_account = wrap_account
        self._news = news
        self._public: dict[tuple[str, MarketType], MarketData] = {}
        self._paper_feeds: dict[tuple[str, MarketType], SharedMarketData] = {}
        self._hubs: dict[MarketType, MarketHub] = {}
        self._accounts: dict[tuple[int, bool], _Account] = {}  # (account id, traded on paper) -> its client
        self._books: dict[int, UserBook] = {}
        self._lock = asyncio.Lock()  # membership changes (start, refresh, add, remove) one at a time
        self._refresher: asyncio.Task[None] | None = None
        self._resets = BreakerResets(database)
        self.stepped = stepped
        self.timeframes = timeframes or tuple(dict.fromkeys(settings.timeframes))

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self, refresh_every_s: float | None = None) -> list[PairKey]:
        """Engines for every runnable pair, each resumed from its stored state; a pair that cannot start is
        logged and put in error with the reason, and the others start anyway."""
        await self._resets.start()  # before the engines load their state: no reset falls between the two
        started = await self.refresh()
        if refresh_every_s:
            self._refresher = asyncio.create_task(self._refresh_forever(refresh_every_s), name="config refresh")
        return started

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop every engine (each finishes the step it is in), then close every client."""
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        await self.manager.shutdown(timeout_s)
        async with self._lock:
            for key in list(self.manager.engines):
                await self._forget(key)
            for client in self._public.values():
                await _close(client)
            self._public.clear()
            self._paper_feeds.clear()

    async def _refresh_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - a failed pickup is retried at the next one
                logger.exception("could not pick up the pair configuration")

    # --- membership ----------------------------------------------------------------------------------------

    async def refresh(self) -> list[PairKey]:
        """Apply the database's pairs, and the breaker resets made from another process, to the running engines;
        returns the pairs started now."""
        async with self._lock:
            async with self.database.transaction() as session:
                rows = await PairRepository(session).all_with_status(RUNNABLE)
                users = {u.id: u for u in await UserRepository(session).list_all()}
            wanted = {(row.user_id, row.symbol): row for row in rows}
            for key in [key for key in self.manager.engines if key not in wanted]:
                await self._stop_engine(key)
            started = []
            for key, row in wanted.items():
                engine = self.manager.engines.get(key)
                user = users.get(row.user_id)
                if engine is None:
                    if await self._start_engine(row):
                        started.append(key)
                    continue
                engine.config = pair_config(row, self.cycle_ms)
                limits = pair_limits(self.limits, user.settings if user else None, row.risk_overrides)
                if limits != engine.risk.limits:  # the breakers' states live in the engine, not in the manager
                    engine.risk = RiskManager(limits)
            if not self.stepped:
                self.manager.start(started)
            await self._resets.apply(self._reset_breakers)
            return started

    async def _reset_breakers(self, user_id: int) -> None:
        if self.manager.engines_of(user_id):  # else nothing of the user runs here: the stored reset stands
            await self.control().resume_breaker(user_id)

    async def remove_pair(self, user_id: int, symbol: str) -> None:
        async with self._lock:
            await self._stop_engine((user_id, symbol))

    async def engine_for(self, user_id: int, symbol: str) -> PairEngine:
        """A new engine for a stored pair (the service's control adds it to the manager)."""
        async with self.database.transaction() as session:
            row = await PairRepository(session).get(user_id, symbol)
        if row is None:
            raise PairNotRunnable(f"{symbol} is not a pair of this user")
        return await self.build_engine(row)

    def control(self) -> ManagerControl:
        """What the service calls to make the running engines follow a change it has just stored."""
        return ManagerControl(
            self.manager, self.engine_for, stop_engine=self.remove_pair, start_engines=not self.stepped
        )

    async def _start_engine(self, row: UserPair) -> bool:
        try:
            self.manager.add(await self.build_engine(row))
            return True
        except Exception as exc:  # noqa: BLE001 - one pair that cannot start never stops the others
            reason = f"could not start: {type(exc).__name__}: {exc}"
            logger.bind(user_id=row.user_id, symbol=row.symbol).warning(reason)
            await self._release(row.account_id, (row.user_id, row.symbol))
            await self.store.set_pair_status(row.user_id, row.symbol, "error", reason)
            return False

    async def _stop_engine(self, key: PairKey) -> None:
        await self.manager.remove(*key)
        await self._forget(key)

    async def _forget(self, key: PairKey) -> None:
        self.manager.engines.pop(key, None)
        for (account_id, _), account in list(self._accounts.items()):
            if key in account.engines:
                await self._release(account_id, key)
        if not any(uid == key[0] for uid, _ in self.manager.engines):
            self._books.pop(key[0], None)

    # --- building ------------------------------------------------------------------------------------------

    async def build_engine(self, row: UserPair) -> PairEngine:
        """A PairEngine for one stored pair: its account's client, the shared hub, the user's book and limits."""
        key = (row.user_id, row.symbol)
        async with self.database.transaction() as session:
            account = await AccountRepository(session, self.box).get(row.user_id, row.account_id or 0)
            if account is None:
                account = await AccountRepository(session, self.box).active(row.user_id)
            if account is None or not account.is_active:
                raise PairNotRunnable(f"{row.symbol} has no active exchange account; /connect one")
            user = await UserRepository(session).get(row.user_id)
            credentials = None
            if not account.is_paper and user is not None and user.mode == "live":
                credentials = await AccountRepository(session, self.box).credentials(row.user_id, account.id)
        if credentials is None and not account.is_paper:
            account = self._paper_view(account)  # paper mode on a live account: simulated fills on its prices
        market_type = MarketType(account.market_type)
        exchange_id = (
            self.settings.default_exchange if account.is_paper and account.exchange == "paper" else account.exchange
        )
        public = self._public_client(exchange_id, market_type)
        feed = self._paper_feed(exchange_id, market_type) if account.is_paper else public
        client = await self._account_client(account, credentials, feed, key)
        market = await client.market(row.symbol)
        limits = pair_limits(self.limits, user.settings if user else None, row.risk_overrides)
        book = self._books.get(row.user_id) or await self.store.load_user(row.user_id)
        if book is None:
            balance = (await client.fetch_balance()).total(market.quote)
            book = UserBook(row.user_id, equity=balance, balance=balance, peak_equity=balance, day_start_equity=balance)
        self._books[row.user_id] = book
        return PairEngine(
            user_id=row.user_id,
            symbol=row.symbol,
            exchange=client,
            market=market,
            hub=self.hub_for(exchange_id, market_type),
            store=self.store,
            notifier=self.notifier,
            risk=RiskManager(limits),
            book=book,
            config=pair_config(row, self.cycle_ms),
            record_equity=True,
            keep_curve=False,  # live: snapshots go to the database; memory per engine stays flat
        )

    def _paper_view(self, account: ExchangeAccount) -> ExchangeAccount:
        """A live account as its owner trades it in paper mode: the same exchange and market type and the same
        account id (its paper ledger), paper fills from PAPER_START_BALANCE, and no keys anywhere near it."""
        return ExchangeAccount(
            id=account.id, user_id=account.user_id, exchange=account.exchange, market_type=account.market_type,
            is_paper=True, testnet=account.testnet, paper_start_balance=self.settings.paper_start_balance,
            is_active=account.is_active,
        )  # fmt: skip

    def _public_client(self, exchange_id: str, market_type: MarketType) -> MarketData:
        key = (exchange_id, market_type)
        if key not in self._public:
            self._public[key] = self._public_factory(exchange_id, market_type)
        return self._public[key]

    def _paper_feed(self, exchange_id: str, market_type: MarketType) -> MarketData:
        """The public client as every paper account on it reads it: each answer fetched once per time slot."""
        key = (exchange_id, market_type)
        if key not in self._paper_feeds:
            self._paper_feeds[key] = SharedMarketData(self._public_client(exchange_id, market_type), self.clock.now_ms)
        return self._paper_feeds[key]

    def hub_for(self, exchange_id: str, market_type: MarketType) -> MarketHub:
        """The shared hub of a market type, with the exchange's public feed in it (a replay preloads it)."""
        public = self._public_client(exchange_id, market_type)
        hub = self._hubs.get(market_type)
        if hub is None:
            timeframes = self.timeframes
            base = min(timeframes, key=timeframe_ms)
            hub = self._hubs[market_type] = MarketHub(
                {}, self.ensemble, config=HubConfig(timeframes, base), news=self._news
            )
        hub.feeds.setdefault(exchange_id, public)
        hub.feeds.setdefault(getattr(public, "exchange_id", exchange_id), public)  # what its markets are keyed by
        return hub

    async def _account_client(
        self, account: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData, key: PairKey
    ) -> ExchangePort:
        held = self._accounts.get((account.id, account.is_paper))
        if held is None:
            client = await self._account_factory(account, credentials, public)
            if self._wrap_account is not None:  # e.g. faults injected at the exchange port in end-to-end tests
                client = self._wrap_account(account, client)
            held = self._accounts[(account.id, account.is_paper)] = _Account(client)
        held.engines.add(key)
        return held.client

    async def _release(self, account_id: int | None, key: PairKey) -> None:
        """The engine no longer uses its account's client; the last one out closes it."""
        for held_id, held in list(self._accounts.items()):
            if (account_id is None or held_id[0] == account_id) and key in held.engines:
                held.engines.discard(key)
                if not held.engines:
                    del self._accounts[held_id]
                    await _close(held.client)

    @property
    def open_accounts(self) -> int:
        return len(self._accounts)

    # --- heartbeats ----------------------------------------------------------------------------------------

    async def _beat(self, user_id: int, symbol: str, status: str, cycles: int, error: str | None) -> None:
        async with self.database.transaction() as session:
            await HeartbeatRepository(session).beat(
                user_id, symbol, status, error=error, at=ms_to_datetime(self.clock.now_ms()), total_cycles=cycles
            )


async def _close(client: object) -> None:
    close = getattr(client, "close", None)
    if close is None:
        return
    try:
        await close()
    except Exception:  # noqa: BLE001 - closing is best effort
        logger.exception("could not close an exchange client")


def _ccxt_public(settings: Settings) -> PublicFactory:
    def make(exchange_id: str, market_type: MarketType) -> MarketData:
        from adapters.exchange.factory import create_market_data

        return create_market_data(exchange_id, market_type=market_type, settings=settings)

    return make


def default_account_factory(settings: Settings, database: Database, clock: Clock) -> AccountFactory:
    """Paper accounts: a PaperExchange on the public feed, its ledger in paper_ledgers. Live accounts: a
    private CCXT client with the account's keys."""

    async def make(
        account: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData
    ) -> ExchangePort:
        if account.is_paper:
            from adapters.exchange.paper import PaperConfig, PaperExchange
            from db.repositories.paper import DbPaperStateStore

            if account.paper_start_balance is None:
                raise PairNotRunnable("the paper account has no starting balance; /connect paper again")
            return await PaperExchange.open(
                public,
                DbPaperStateStore(database, account.user_id, account.id),
                starting_balances={"USDT": account.paper_start_balance},
                config=PaperConfig(taker_fee=settings.paper_taker_fee, maker_fee=settings.paper_maker_fee),
                clock=clock.now_ms,
            )
        from adapters.exchange.factory import create_live_exchange

        if credentials is None:
            raise PairNotRunnable("the live account has no stored keys; /connect it again")
        return create_live_exchange(
            account.exchange, credentials, market_type=MarketType(account.market_type), testnet=account.testnet,
            settings=settings,
        )  # fmt: skip

    return make

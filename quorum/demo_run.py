"""One demo run: the trading cycle of one (user, pair) over replayed candles with a simulated clock.

Every simulated hour the paper exchange walks the closed candle (stops, take profits, liquidations fire inside
it) and the account is marked to market. Every cycle: market data, snapshot, the shared ensemble, the risk
manager with its breakers, then the orders. This is the shape the engine's replay mode will take.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

from adapters.ai.shared import SharedEnsemble
from adapters.exchange.errors import ExchangeError
from adapters.exchange.paper import PaperExchange
from adapters.exchange.replay import ReplayFeed
from analysis.indicator_cache import IndicatorCache
from analysis.snapshot import build_snapshot
from db.vote_recorder import consultation_key
from domain.market import MarketInfo
from domain.money import ms_to_datetime, to_decimal
from domain.snapshot import MarketSnapshot
from domain.trading import Position, PositionSide
from domain.vote import ConsensusResult
from quorum.demo_books import AccountFigures, DemoBooks
from quorum.demo_report import (
    ClosedTrade,
    DemoSummary,
    EquityCurve,
    amount,
    breaker_line,
    closed_line,
    price,
    when,
)
from quorum.demo_trader import PaperTrader, ProtectionFailed
from quorum.settings import Settings
from risk import (
    AccountState,
    Approved,
    BreakerEvent,
    BreakerEventKind,
    DailyLossState,
    LossStreakState,
    MarketConditions,
    PairContext,
    RejectCode,
    Rejected,
    RiskLimits,
    RiskManager,
    TripReason,
    Verdict,
)

HOUR_MS = 3_600_000
TIMEFRAMES = ("1h", "4h", "1d")
BASE_TIMEFRAME = "1h"
OHLCV_LIMIT = 300  # enough closed candles for the 200-period EMA where the history allows it
BOOK_DEPTH = 20

Outcome = tuple[str, str, str, int | None]  # outcome, reason code, reason sentence, orders row


class DemoRun:
    def __init__(
        self,
        *,
        settings: Settings,
        feed: ReplayFeed,
        paper: PaperExchange,
        market: MarketInfo,
        books: DemoBooks,
        shared: SharedEnsemble,
        summary: DemoSummary,
        budget: Decimal,
        leverage: int,
        emit: Callable[[str], None],
        verbose: bool = False,
    ) -> None:
        self.feed, self.paper, self.market, self.books, self.shared = feed, paper, market, books, shared
        config = paper.account.config  # the risk manager sizes with the fees this account really pays
        self.risk_market = replace(market, taker_fee=config.taker(market), maker_fee=config.maker(market))
        self.symbol = market.symbol
        self.summary, self.emit, self.verbose = summary, emit, verbose
        self.budget, self.leverage = budget, leverage
        self.manager = RiskManager(RiskLimits.from_settings(settings))
        self.trader = PaperTrader(paper, books, market)
        self.cache = IndicatorCache()
        self.pair_breaker, self.daily_breaker = LossStreakState(), DailyLossState()
        self.curve = EquityCurve(summary.starting_balance)
        self.day: date | None = None
        self.day_start_equity = summary.starting_balance
        self.trades_today = 0
        self.paused = False

    async def run(self, first_cycle_ms: int, end_ms: int) -> DemoSummary:
        cycle_ms = self.summary.cycle_hours * HOUR_MS
        next_cycle, now = first_cycle_ms, first_cycle_ms
        while now <= end_ms:
            self.feed.clock.advance_to(now)
            await self.watch(now)
            if now == next_cycle and now < end_ms:
                self.summary.cycles += 1
                await self.cycle(f"c{self.summary.cycles}", now)
                next_cycle += cycle_ms
            now += HOUR_MS
        if self.trader.open is not None:
            await self.closed(await self.trader.exit("end", end_ms, "end_of_demo"))
        figures = await self.figures(end_ms)
        await self.books.save_state(self.pair_breaker, self.daily_breaker, figures)
        self.summary.final_equity = figures.equity
        self.summary.max_drawdown = self.curve.max_drawdown
        return self.summary

    # --- between cycles ------------------------------------------------------------------------------------

    async def watch(self, now: int) -> None:
        """The market moved one hour: book what the exchange did, report a closed position, run the breakers."""
        closed = await self.trader.settle(await self.paper.process(), now)
        if closed is not None:
            await self.closed(closed)
        figures = await self.figures(now)
        moment = ms_to_datetime(now)
        pair_step = self.manager.streak_breaker.advance(self.pair_breaker, moment)
        daily_step = self.manager.observe_account(self.daily_breaker, self.account(figures), moment)
        changed = (pair_step.state, daily_step.state) != (self.pair_breaker, self.daily_breaker)
        self.pair_breaker, self.daily_breaker = pair_step.state, daily_step.state
        self.announce(pair_step.events + daily_step.events)
        if changed:
            await self.books.save_state(self.pair_breaker, self.daily_breaker)

    async def figures(self, now: int) -> AccountFigures:
        """Balance and mark-to-market equity now; a new UTC day restarts the day's figures."""
        cash = await self.trader.cash()
        position = await self.trader.position()
        unrealized = position.unrealized_pnl if position is not None else Decimal(0)
        equity = cash + unrealized
        day = ms_to_datetime(now).date()
        if day != self.day:
            self.day, self.day_start_equity, self.trades_today = day, equity, 0
        self.curve.observe(equity)
        realized = self.summary.realized_pnl
        return AccountFigures(
            cash, equity, realized, unrealized, self.curve.peak, self.day_start_equity, day, self.trades_today, position
        )

    def account(self, figures: AccountFigures) -> AccountState:
        """The day's net P&L is equity against the day's starting equity, split into realized and open."""
        return AccountState(
            equity=figures.equity,
            peak_equity=figures.peak_equity,
            day_start_equity=figures.day_start_equity,
            realized_pnl_today=figures.equity - figures.day_start_equity - figures.unrealized_pnl,
            unrealized_pnl=figures.unrealized_pnl,
            trades_today=figures.trades_today,
            open_positions=1 if self.trader.open is not None else 0,
        )

    async def closed(self, trade: ClosedTrade) -> None:
        """Report a round trip and feed its P&L to the losing-streak breaker."""
        self.emit(closed_line(self.symbol, trade, self.market.quote))
        self.summary.trades.append(trade)
        step = self.manager.record_trade(self.pair_breaker, trade.pnl, ms_to_datetime(trade.closed_ms))
        self.pair_breaker = step.state
        self.announce(step.events)
        await self.books.save_state(self.pair_breaker, self.daily_breaker)

    def announce(self, events: Sequence[BreakerEvent]) -> None:
        for event in events:
            streak = event.reason is TripReason.LOSS_STREAK
            state = self.pair_breaker if streak else self.daily_breaker
            if event.kind is BreakerEventKind.TRIPPED:
                self.summary.breaker_trips += 1
            losses = self.pair_breaker.consecutive_losses
            self.emit(breaker_line(event, losses, state.reopens_at if event.kind is BreakerEventKind.TRIPPED else None))

    # --- the cycle -----------------------------------------------------------------------------------------

    async def snapshot(self, now: int, position: Position | None) -> MarketSnapshot:
        paper, symbol = self.paper, self.symbol
        candles = {tf: await paper.fetch_ohlcv(symbol, tf, limit=OHLCV_LIMIT) for tf in TIMEFRAMES}
        return build_snapshot(
            exchange=self.feed.exchange_id,
            symbol=symbol,
            candles=candles,
            ticker=await paper.fetch_ticker(symbol),
            base_timeframe=BASE_TIMEFRAME,
            order_book=await paper.fetch_order_book(symbol, BOOK_DEPTH),
            funding_rate=await paper.fetch_funding_rate(symbol),
            position_side=position.side if position is not None else PositionSide.FLAT,
            entry_price=position.entry_price if position is not None else None,
            now_ms=now,
            indicator_cache=self.cache,
        )

    async def cycle(self, tag: str, now: int) -> None:
        position = await self.trader.position()
        snapshot = await self.snapshot(now, position)
        result = await self.shared.decide(snapshot)
        decision = result.decision
        self.summary.decisions[decision.action.value] += 1
        atr = snapshot.base.indicators.atr_pct
        conditions = MarketConditions(
            price=snapshot.price,
            atr_fraction=to_decimal(atr) if atr is not None else Decimal(0),
            quote_volume=snapshot.ticker.quote_volume or Decimal(0),
            spread_fraction=snapshot.ticker.spread_fraction,
        )
        pair = PairContext(
            budget=self.budget,
            leverage=self.leverage,
            position_side=snapshot.position_side,
            position_amount=position.amount if position is not None else Decimal(0),
        )
        check = self.manager.check(
            decision,
            market=self.risk_market,
            conditions=conditions,
            account=self.account(await self.figures(now)),
            pair=pair,
            pair_breaker=self.pair_breaker,
            daily_breaker=self.daily_breaker,
            now=ms_to_datetime(now),
        )
        self.pair_breaker, self.daily_breaker = check.pair_breaker, check.daily_breaker
        self.announce(check.events)
        outcome, code, message, order_row = await self.act(check.verdict, result, tag, now, snapshot.position_side)
        self.summary.outcomes[outcome] += 1
        await self.books.decision(
            consultation_key(snapshot.key),
            decision.action.value,
            outcome,
            confidence=decision.confidence,
            stop_loss=decision.stop_loss,
            take_profit=decision.take_profit,
            consensus_reason=result.reason,
            code=code,
            message=message,
            order_row=order_row,
            state=(self.pair_breaker, self.daily_breaker, await self.figures(now)),
        )

    async def act(self, verdict: Verdict, result: ConsensusResult, tag: str, now: int, held: PositionSide) -> Outcome:
        action = result.decision.action.value
        if isinstance(verdict, Rejected):
            if verdict.code is RejectCode.HOLD:
                return "hold", verdict.code.value, verdict.message, None
            if verdict.pauses_pair and not self.paused:
                self.paused = True
                await self.books.pause_pair()
                self.emit(f"{when(now)} {self.symbol} paused: {verdict.message}")
            elif self.verbose:
                self.emit(f"{when(now)} {self.symbol} {action} rejected ({verdict.code.value}): {verdict.message}")
            return "rejected", verdict.code.value, verdict.message, None
        if verdict.is_exit:
            await self.closed(await self.trader.exit(tag, now, "signal"))
            return "executed", verdict.code, verdict.message, self.trader.exit_row
        return await self.enter(verdict, result, tag, now, held)

    async def enter(
        self, verdict: Approved, result: ConsensusResult, tag: str, now: int, held: PositionSide
    ) -> Outcome:
        skipped = None
        if held is not PositionSide.FLAT:
            skipped = "already_in_position", f"Already {held.value}; the demo does not add to an open position."
        elif self.paused:
            skipped = "pair_paused", "The pair is paused after the drawdown limit."
        if skipped is not None:
            if self.verbose:
                self.emit(f"{when(now)} {self.symbol} {result.decision.action.value} skipped: {skipped[1]}")
            return "skipped", *skipped, None
        try:
            opened = await self.trader.enter(verdict, tag, now)
        except ProtectionFailed as exc:
            self.emit(f"{when(now)} {self.symbol} entry undone: {exc}")
            await self.closed(exc.closed)
            return "error", exc.code, str(exc), self.trader.exit_row
        except ExchangeError as exc:
            self.emit(f"{when(now)} {self.symbol} entry failed: {exc}")
            return "error", exc.code, str(exc), None
        self.trades_today += 1
        self.emit(
            f"{when(now)} {self.symbol} opened {opened.side.value.upper()} {amount(opened.amount)} @ "
            f"{price(opened.entry_price)} (SL {price(opened.stop_loss)} / TP {price(opened.take_profit)})"
            f" — {len(result.agreeing)}/{len(result.votes)} analysts agree"
        )
        return "executed", verdict.code, verdict.message, opened.entry_row

"""PairEngine: the trading cycle of one (user, symbol), the same code live, on paper, in the demo and in a backtest.

step(now) is the whole engine: between cycles it monitors (books fills, stop loss / take profit hits and
liquidations, marks the account to market, lets the breakers' clocks run); at each cycle boundary it claims the
candle (exactly once per (user, symbol, candle), across restarts and processes), builds the shared snapshot,
asks the shared ensemble, passes the risk manager, executes, records the decision and notifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from loguru import logger

from adapters.exchange.errors import ExchangeError, OrderStateUnknown
from adapters.exchange.port import ExchangePort
from domain.market import MarketInfo, timeframe_ms
from domain.money import ms_to_datetime, to_decimal
from domain.snapshot import consultation_key
from domain.trading import Order, OrderStatus, Position, PositionSide
from domain.vote import ConsensusResult
from engine.breaker_alerts import breaker_alert
from engine.events import CLOSE_KINDS, EngineEvent, EventKind
from engine.formatting import REASON_WORDS, amount, price, signed
from engine.ids import EXIT_REASONS, Intent, intent_of
from engine.market_hub import MarketHub
from engine.notifier import Notifier
from engine.pending_entry import approved_from, approved_json
from engine.records import ClosedTrade, DecisionRecord, EquityPoint
from engine.state import PairState, UserBook
from engine.store import EngineStore
from engine.trader import ProtectionFailed, ProtectionUnknown, Trader
from risk import (
    BreakerEvent,
    MarketConditions,
    PairContext,
    RejectCode,
    Rejected,
    RiskManager,
    Verdict,
)

HOUR_MS = 3_600_000
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PairConfig:
    """What the user set for the pair; the manager hands a changed one to a running engine."""

    budget: Decimal
    leverage: int
    cycle_ms: int = 4 * HOUR_MS
    paused: bool = False


Outcome = tuple[str, str, str, int | None]  # outcome, reason code, reason sentence, orders row


class PairEngine:
    def __init__(
        self,
        *,
        user_id: int,
        symbol: str,
        exchange: ExchangePort,
        market: MarketInfo,
        hub: MarketHub,
        store: EngineStore,
        notifier: Notifier,
        risk: RiskManager,
        book: UserBook,
        config: PairConfig,
        record_equity: bool = True,
        keep_curve: bool = True,
    ) -> None:
        """record_equity: an equity snapshot goes to the store every cycle; keep_curve: the equity of every
        marked time is also kept in memory, one point per time, the last mark's (equity_curve, for a backtest's
        report; a live engine keeps only the last one)."""
        self.user_id, self.symbol = user_id, symbol
        self.exchange, self.market, self.hub, self.store = exchange, market, hub, store
        self.notifier, self.risk, self.book, self.config = notifier, risk, book, config
        self.trader = Trader(exchange, store, market, user_id)
        self.state = PairState()
        self.record_equity, self.keep_curve = record_equity, keep_curve
        self.equity_curve: list[EquityPoint] = []
        self.last_equity: EquityPoint | None = None
        self.closed_trades: list[ClosedTrade] = []
        self.unknown_orders: set[str] = set()
        self._started = False
        self._redo_ms: int | None = None  # a claimed candle whose cycle an earlier run left undone: run it again
        self._exits: list[Order] = []  # exit orders reconcile found filled: what closed the position
        self._at: tuple[int, datetime] = (-1, datetime.min)  # now_ms and its datetime (_moment)
        self._pair: PairContext | None = None  # the last _pair_context
        # the last mark: its time, the exchange's state version then (None: it keeps none), whether it asked for
        # the positions, and the pair's position
        self._marked: tuple[int, object, bool, Position | None] = (-1, None, False, None)

    @property
    def exchange_id(self) -> str:
        return self.market.exchange_id or self.exchange.exchange_id

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self, now_ms: int) -> None:
        """Load the stored state, reconcile every unresolved order, then line up the trade with the position.

        When this very candle was claimed by a run that stopped (killed, crashed) before its cycle sent an order
        or recorded its decision, the cycle runs again from the same state; an order it had recorded but never
        sent stays pending for it, so it goes out under the same client order id."""
        self.state = await self.store.load_pair(self.user_id, self.symbol)
        claimed = self.state.last_candle_ts == now_ms and now_ms % self.config.cycle_ms == 0
        ours = {self.trader.cid(now_ms, intent) for intent in (Intent.ENTRY, Intent.EXIT)} if claimed else set()
        kept = await self.reconcile(now_ms, keep_unsent=ours)
        candle = now_ms - timeframe_ms(self.hub.config.base_timeframe)  # the candle its consultation is about
        undone = bool(ours) and not await self.store.cycle_recorded(self.user_id, self.symbol, candle, ours)
        self._redo_ms = now_ms if undone else None
        if kept and not undone:
            await self.reconcile(now_ms)  # no cycle will send them: closed as never sent
        await self.resync(now_ms)
        self._started = True

    @property
    def started(self) -> bool:
        """Its stored state is loaded and its orders reconciled (the first step does it, again after a crash)."""
        return self._started

    def restart(self) -> None:
        """After a crash: the next step reloads the stored state and reconciles before trading again."""
        self._started = False

    async def reconcile(self, now_ms: int, keep_unsent: set[str] | None = None) -> set[str]:
        """Orders recorded as pending or unknown (or left open) are looked up by client order id. Found: their
        state and fills are recorded. Definitely absent: the process stopped before sending, so they are closed
        as never sent (those of keep_unsent stay pending, returned: a cycle run again sends them). The exchange
        cannot tell: they stay unknown and block new entries until it can."""
        kept: set[str] = set()
        self._exits = []
        unresolved_orders = await self.store.unresolved_orders(self.user_id, self.symbol)
        await self._ask_again({u.request.client_order_id for u in unresolved_orders})
        for unresolved in unresolved_orders:
            cid = unresolved.request.client_order_id
            try:
                order = await self.exchange.fetch_order_by_client_id(cid, self.symbol)
            except OrderStateUnknown:
                await self._unknown(cid, now_ms)
                continue
            self.unknown_orders.discard(cid)
            if order is None and keep_unsent and cid in keep_unsent:
                kept.add(cid)
            elif order is None:
                if unresolved.purpose in ("stop_loss", "take_profit") and self.state.open_trade is not None:
                    continue  # never placed: resync places it, under the same id
                await self.store.order_failed(
                    self.user_id, cid, "never reached the exchange: the engine stopped before sending it",
                    OrderStatus.REJECTED,
                )  # fmt: skip
            else:
                await self.store.order_update(self.user_id, order, unresolved.purpose)
                trade = self.state.open_trade
                if unresolved.purpose == "entry" and trade is None and order.filled > 0:
                    await self._adopt_entry(order, unresolved.row, now_ms)
                elif unresolved.purpose == "exit" and trade is not None and order.status is OrderStatus.FILLED:
                    if unresolved.row > trade.entry_row:  # the exit of this trade, its answer lost: close on it
                        reason = EXIT_REASONS.get(intent_of(cid) or Intent.EXIT, "signal")
                        await self._closed(await self.trader.closed(trade, order, unresolved.row, reason, now_ms))
                elif unresolved.purpose == "exit" and order.filled > 0:
                    self._exits.append(order)  # the position it closed is settled with it (resync)
        await self._booked_entry(now_ms)
        return kept

    async def _booked_entry(self, now_ms: int) -> None:
        """A saved pending entry whose order the books already hold as final (the run stopped after recording
        the exchange's answer, before booking the round trip): its fills are booked now."""
        pending = self.state.pending_entry
        if pending is None or self.state.open_trade is not None:
            return
        try:
            order = await self.exchange.fetch_order_by_client_id(str(pending["client_order_id"]), self.symbol)
        except OrderStateUnknown:
            return
        if order is not None and order.filled > 0:
            await self._adopt_entry(order, await self.store.order_update(self.user_id, order, "entry"), now_ms)

    async def _ask_again(self, covered: set[str]) -> None:
        """Orders the exchange could not tell about that the books hold as final (a stop or take profit looked up
        while settling): once the exchange answers, their state is recorded and entries may open again."""
        for cid in self.unknown_orders - covered:
            try:
                order = await self.exchange.fetch_order_by_client_id(cid, self.symbol)
            except OrderStateUnknown:
                continue
            self.unknown_orders.discard(cid)
            if order is not None:
                await self.store.order_update(self.user_id, order, "exit")

    async def _adopt_entry(self, order: Order, row: int, now_ms: int) -> None:
        """An entry filled but the engine stopped before booking the round trip: book it from the pair's
        pending entry (its levels were saved before the order was sent) and protect it."""
        pending = self.state.pending_entry
        if pending is None or pending.get("client_order_id") != order.client_order_id:
            return
        approved = approved_from(pending)
        trade = await self.trader.book_entry(approved, order, row, int(pending["candle_ts"]), now_ms)
        await self._save(replace(self.state, open_trade=trade, pending_entry=None))

    async def resync(self, now_ms: int) -> None:
        """The trade the engine remembers against the position the exchange holds."""
        trade = self.state.open_trade
        if trade is None:
            return
        position = await self.trader.position()
        if position is None:
            closed = await self.trader.settle(trade, self._exits, now_ms)
            if closed is not None:
                await self._closed(closed)
            return
        try:
            protected = await self.trader.protect(trade, now_ms)
        except ProtectionFailed as exc:
            await self._closed(exc.closed)
            await self._event(EventKind.ENGINE_ERROR, now_ms, f"{self.symbol}: {exc}")
            return
        except ProtectionUnknown as exc:  # settled by a later reconcile, then protected by the next resync
            protected = exc.trade
            await self._unknown(exc.client_order_id, now_ms)
        if protected != trade:
            await self._save(replace(self.state, open_trade=protected))

    # --- the engine ----------------------------------------------------------------------------------------

    async def step(self, now_ms: int) -> None:
        """Monitor; at a cycle boundary (a multiple of the cycle period, UTC), run the cycle."""
        if not self._started:
            await self.start(now_ms)
        await self.monitor(now_ms)
        if now_ms % self.config.cycle_ms == 0 and not self.config.paused:
            await self.cycle(now_ms)

    async def monitor(self, now_ms: int) -> None:
        """Book what the exchange did on its own, mark to market, let the breakers' clocks run."""
        changed: Sequence[Order] = []
        process = getattr(self.exchange, "process", None)
        if process is not None:  # the paper exchange: evaluate resting orders, funding, liquidations now
            changed = await process([self.symbol])
        if self.unknown_orders:  # first: a lost answer may have opened or closed the trade
            await self.reconcile(now_ms)
            if not self.unknown_orders:
                await self.resync(now_ms)  # an adopted entry, or one whose protection was unconfirmed, is protected
        trade = self.state.open_trade
        if trade is not None and (changed or process is None or await self.trader.position() is None):
            try:
                closed = await self.trader.settle(trade, list(changed), now_ms)
            except OrderStateUnknown as exc:  # a protective order the exchange cannot tell about: ask again later
                await self._unknown(exc.client_order_id, now_ms)
                closed = None
            if closed is not None:
                await self._closed(closed)
        elif changed:
            for order in changed:
                await self.store.order_update(self.user_id, order, "exit")
        position = await self.mark(now_ms)
        moment = self._moment(now_ms)
        pair_step = self.risk.streak_breaker.advance(self.state.breaker, moment)
        daily_step = self.risk.observe_account(self.book.daily_breaker, self.book.account(), moment)
        pair_state, daily_state = pair_step.state, daily_step.state  # usually the very states given: no comparing
        changed_state = (pair_state is not self.state.breaker and pair_state != self.state.breaker) or (
            daily_state is not self.book.daily_breaker and daily_state != self.book.daily_breaker
        )
        self.book.daily_breaker = daily_step.state
        if changed_state:
            await self._save(replace(self.state, breaker=pair_step.state), position)
            await self.store.save_user(self.book)
        await self._announce(pair_step.events + daily_step.events)

    async def mark(self, now_ms: int) -> Position | None:
        """The account's balance and open P&L now (every position of the account counts toward equity)."""
        balance = (await self.exchange.fetch_balance()).total(self.market.quote)
        asked = self._asks_positions()
        positions = await self.exchange.fetch_positions() if asked else []
        unrealized = sum((p.unrealized_pnl for p in positions), Decimal(0)) if positions else _ZERO
        version = self._state_version()  # after the reads, which may have caught the account up
        self.book.observe(balance, unrealized, self._moment(now_ms).date())
        self.book.open_positions = len(positions)
        if self.record_equity or self.keep_curve:
            self.last_equity = EquityPoint(now_ms, self.book.equity, balance, unrealized)
            if self.keep_curve:
                curve = self.equity_curve
                if curve and curve[-1].ts == now_ms:
                    curve[-1] = self.last_equity  # a cycle's trade re-marked this time: its equity stands
                else:
                    curve.append(self.last_equity)
        mine = None
        for position in positions:
            if position.symbol == self.symbol:
                mine = position
                break
        self._marked = (now_ms, version, asked, mine)
        return mine

    def _asks_positions(self) -> bool:
        """Whether a mark reads the account's positions: only while the pair holds a trade or the account held a
        position at the last mark (a flat account's positions are none, and asking costs a call live)."""
        return bool(self.state.open_trade or self.book.open_positions)

    def _state_version(self) -> object:
        """The exchange's account state version, when it keeps one (the paper exchange: its account's revision
        and its clock's time): while it stands, a mark would read the very same balance and positions."""
        version_of = getattr(self.exchange, "state_version", None)
        return None if version_of is None else version_of()

    async def cycle(self, now_ms: int) -> None:
        redo, self._redo_ms = self._redo_ms == now_ms, None
        if not redo and not await self.store.claim_candle(self.user_id, self.symbol, now_ms):
            return  # another process, a retry or an earlier run already processed this candle
        self.state = self.state.claimed(now_ms, self.state.cycles + 1)
        trade = self.state.open_trade
        side = trade.side if trade is not None else PositionSide.FLAT
        snapshot = await self.hub.snapshot(
            self.exchange_id, self.symbol, now_ms, side, trade.entry_price if trade else None
        )
        result = await self.hub.consult(snapshot)
        decision = result.decision
        atr = snapshot.base.indicators.atr_pct
        conditions = MarketConditions(
            price=snapshot.price,
            atr_fraction=to_decimal(atr) if atr is not None else Decimal(0),
            quote_volume=snapshot.ticker.quote_volume or Decimal(0),
            spread_fraction=snapshot.spread_fraction,  # the ticker's, computed once with the snapshot
        )
        pair = self._pair_context(side, trade.amount if trade is not None else _ZERO)
        check = self.risk.check(
            decision,
            market=self.market,
            conditions=conditions,
            account=self.book.account(),
            pair=pair,
            pair_breaker=self.state.breaker,
            daily_breaker=self.book.daily_breaker,
            now=self._moment(now_ms),
        )
        if check.pair_breaker is not self.state.breaker:  # the very state it was given when nothing changed
            self.state = replace(self.state, breaker=check.pair_breaker)
        self.book.daily_breaker = check.daily_breaker
        await self._announce(check.events)
        try:
            outcome, code, message, row = await self.act(check.verdict, result, now_ms, side)
        except ExchangeError as exc:
            outcome, code, message, row = "error", getattr(exc, "code", "exchange_error"), str(exc), None
            await self._event(EventKind.ENGINE_ERROR, now_ms, f"{self.symbol}: {exc}")
        if self.store.keep_decisions:  # a backtest's store keeps none: no record is built for it to drop
            key = consultation_key(snapshot.key, self.hub.ensemble.ensemble.fingerprint)
            await self.store.record_decision(
                self.user_id,
                self.symbol,
                DecisionRecord(
                    now_ms, key, decision.action.value, outcome, decision.confidence, decision.stop_loss,
                    decision.take_profit, result.reason, str(code), message, row,
                ),
            )  # fmt: skip
        if redo:
            await self.reconcile(now_ms)  # an order the first run recorded that this one did not send
        marked_at, version, asked, position = self._marked
        if (
            redo
            or marked_at != now_ms
            or version is None
            or asked != self._asks_positions()
            or version != self._state_version()
        ):
            position = await self.mark(now_ms)
        # else the monitor's mark of this very time stands: the account has not moved since, so a mark would read
        # the same balance and positions (a cycle that held, was refused or skipped)
        await self._save(self.state, position)
        await self.store.save_user(self.book)
        if self.record_equity and self.last_equity is not None:
            await self.store.equity_point(self.user_id, self.symbol, self.last_equity)

    async def act(self, verdict: Verdict, result: ConsensusResult, now_ms: int, held: PositionSide) -> Outcome:
        if isinstance(verdict, Rejected):
            if verdict.code is RejectCode.HOLD:
                return "hold", verdict.code.value, verdict.message, None
            if verdict.pauses_pair:
                await self.pause(verdict.message, now_ms)
            return "rejected", verdict.code.value, verdict.message, None
        trade = self.state.open_trade
        if verdict.is_exit:
            assert trade is not None
            try:
                closed = await self.trader.exit(trade, now_ms, Intent.EXIT, now_ms, "signal")
            except OrderStateUnknown as exc:  # its stop or take profit cannot be confirmed: no exit on a guess
                await self._unknown(exc.client_order_id, now_ms)
                return "error", exc.code, str(exc), None
            await self._closed(closed)
            return "executed", verdict.code, verdict.message, closed.exit_row
        if held is not PositionSide.FLAT:
            return "skipped", "already_in_position", f"Already {held.value}; no adding to an open position.", None
        if self.unknown_orders:
            return "skipped", "order_unknown", "An earlier order's state is unknown; no new entry until it is.", None
        pending = {
            "client_order_id": self.trader.cid(now_ms, Intent.ENTRY),
            "candle_ts": now_ms,
            **approved_json(verdict),
        }
        await self._save(replace(self.state, pending_entry=pending))
        try:
            opened = await self.trader.enter(verdict, now_ms, now_ms)
        except ProtectionUnknown as exc:  # the entry filled: the trade stands, its protection completes later
            opened = exc.trade
            await self._unknown(exc.client_order_id, now_ms)
        except ProtectionFailed as exc:
            await self._closed(exc.closed)
            await self._save(replace(self.state, pending_entry=None))
            await self._event(EventKind.ENGINE_ERROR, now_ms, f"{self.symbol} entry undone: {exc}")
            return "error", exc.code, str(exc), None
        except OrderStateUnknown as exc:
            await self._unknown(exc.client_order_id, now_ms)
            return "error", exc.code, str(exc), None
        except ExchangeError as exc:
            await self._save(replace(self.state, pending_entry=None))
            await self._event(EventKind.ENGINE_ERROR, now_ms, f"{self.symbol} entry failed: {exc}")
            return "error", exc.code, str(exc), None
        self.state = replace(self.state, open_trade=opened, pending_entry=None)
        self.book.trades_today += 1
        await self._save(self.state)
        agree = f"{len(result.agreeing)}/{len(result.votes)} analysts agree"
        await self._event(
            EventKind.POSITION_OPENED, now_ms,
            f"{self.symbol} opened {opened.side.value.upper()} {amount(opened.amount)} @ {price(opened.entry_price)}"
            f" (SL {price(opened.stop_loss)} / TP {price(opened.take_profit)}) - {agree}",
            side=opened.side.value, amount=opened.amount, price=opened.entry_price, fees=opened.entry_fee,
        )  # fmt: skip
        return "executed", verdict.code, verdict.message, opened.entry_row

    # --- what users ask for --------------------------------------------------------------------------------

    async def close_position(self, now_ms: int, reason: str = "user_close") -> ClosedTrade | None:
        trade = self.state.open_trade
        if trade is None:
            return None
        intent = Intent.END if reason == "end_of_replay" else Intent.CLOSE
        closed = await self.trader.exit(trade, now_ms, intent, now_ms, reason)
        await self._closed(closed)
        return closed

    async def pause(self, reason: str, now_ms: int) -> None:
        self.config = replace(self.config, paused=True)
        await self.store.set_pair_status(self.user_id, self.symbol, "paused", reason)
        await self._event(EventKind.PAIR_PAUSED, now_ms, f"{self.symbol} paused: {reason}", reason=reason)

    async def resume_breaker(self, now_ms: int) -> tuple[BreakerEvent, ...]:
        moment = ms_to_datetime(now_ms)
        pair_step = self.risk.streak_breaker.resume(self.state.breaker, moment)
        self.state = replace(self.state, breaker=pair_step.state)
        await self._save(self.state)
        await self._announce(pair_step.events)
        return pair_step.events

    # --- bookkeeping ---------------------------------------------------------------------------------------

    async def _closed(self, closed: ClosedTrade) -> None:
        self.closed_trades.append(closed)
        self.book.realized_pnl += closed.pnl
        step = self.risk.record_trade(self.state.breaker, closed.pnl, ms_to_datetime(closed.closed_ms))
        self.state = replace(self.state, open_trade=None, breaker=step.state)
        await self._save(self.state, None)
        words = REASON_WORDS.get(closed.reason, closed.reason)
        kind = CLOSE_KINDS.get(closed.reason, EventKind.POSITION_CLOSED)
        await self._event(
            kind, closed.closed_ms,
            f"{self.symbol} closed {closed.side.upper()} {amount(closed.amount)} @ {price(closed.exit_price)} "
            f"{signed(closed.pnl)} {self.market.quote} ({words})",
            side=closed.side, amount=closed.amount, price=closed.exit_price, pnl=closed.pnl, fees=closed.fees,
            reason=closed.reason,
        )  # fmt: skip
        await self._announce(step.events)

    async def _unknown(self, client_order_id: str, now_ms: int) -> None:
        if client_order_id in self.unknown_orders:
            return
        self.unknown_orders.add(client_order_id)
        await self._event(
            EventKind.ORDER_UNKNOWN, now_ms,
            f"{self.symbol}: the exchange could not confirm order {client_order_id}. It is not sent again; Quorum "
            "checks it until the exchange answers, and opens nothing new meanwhile.",
        )  # fmt: skip

    def _pair_context(self, side: PositionSide, amount: Decimal) -> PairContext:
        """The pair as the risk manager reads it; the last one again while its very figures stand (a flat pair's
        is the same every hour until the user changes the budget or the leverage)."""
        config, last = self.config, self._pair
        if (
            last is not None
            and last.budget is config.budget
            and last.leverage == config.leverage
            and last.position_side is side
            and last.position_amount is amount
        ):
            return last
        self._pair = PairContext(config.budget, config.leverage, side, amount)
        return self._pair

    def _moment(self, now_ms: int) -> datetime:
        """ms_to_datetime(now_ms), converted once per time however often a step asks."""
        at = self._at
        if at[0] != now_ms:
            at = self._at = (now_ms, ms_to_datetime(now_ms))
        return at[1]

    async def _save(self, state: PairState, position: Position | None = None) -> None:
        self.state = state
        await self.store.save_pair(self.user_id, self.symbol, state, position)

    async def _announce(self, events: Sequence[BreakerEvent]) -> None:
        for event in events:
            kind, message, fields = breaker_alert(event, self.symbol, self.state.breaker, self.book.daily_breaker)
            await self._event(kind, event.at, message, **fields)

    async def _event(self, kind: EventKind, at: int | object, message: str, **fields: object) -> None:
        moment = ms_to_datetime(at) if isinstance(at, int) else at
        event = EngineEvent(kind, self.user_id, self.symbol, moment, message, **fields)  # type: ignore[arg-type]
        try:
            await self.notifier.notify(event)
        except Exception:  # noqa: BLE001 - a transport failure never stops trading
            logger.bind(user=self.user_id, symbol=self.symbol).exception("could not deliver an alert")

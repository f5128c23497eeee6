"""Stateful property tests: random sequences of trading on a paper account, checked after every step, exactly.

Perpetuals: entries, partial closes, flips, leverage changes, stops and take-profits, funding of either sign,
liquidations, price moves and restarts. After every step, with no tolerance,
    equity = starting balance + realized PnL - fees + net funding + unrealized PnL
where realized PnL and fees are summed from the recorded fills and funding from the recorded funding events, and
equity is what the account shows: its USDT total plus its positions' unrealized PnL. The positions themselves are
rebuilt from the recorded fills alone, so their amounts and unrealized PnL are checked against the records too.
Spot: every unit of both currencies is accounted for by the fills, and so is the equity at the mark.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from adapters.exchange.errors import InsufficientFunds, InvalidOrder, OrderNotFound
from adapters.exchange.paper import (
    Ledger,
    PaperAccount,
    PaperConfig,
    SpotFeeCurrency,
    account_from_state,
    account_to_state,
)
from domain.market import MarketInfo, OrderBook
from domain.trading import OrderRequest, OrderSide, OrderType, PositionSide

from .scripted_feed import HOUR, START_MS, ladder, perp_market, spot_market

D = Decimal
ZERO = D(0)
START_USDT, START_BTC = D(1000), D(3)
MONEY = D("1e-12")
REFUSED = (InsufficientFunds, InvalidOrder, OrderNotFound)

amounts = st.decimals(min_value=D("0.001"), max_value=D(8), places=3)
fractions = st.decimals(min_value=D("0.001"), max_value=D(1), places=3)
factors = st.decimals(min_value=D("0.8"), max_value=D("1.25"), places=3)
sides = st.sampled_from(list(OrderSide))


def trade_number(fill) -> int:
    return int(fill.trade_id.rsplit("-", 1)[1])


def recorded_fills(account: PaperAccount) -> list:
    """Every fill on record, oldest first (a resting order's fills can come after a later order's)."""
    return sorted((fill for order in account.orders.values() for fill in order.fills), key=trade_number)


def rebuild(fills: list, contract_size: Decimal) -> tuple[Decimal, Decimal, list[Decimal]]:
    """(signed amount, cost basis, each fill's realized PnL at its price) from the fills alone, one-way mode:
    a close takes out its share of the cost, rounded to 1e-12, as the module docstring of perpetual.py says."""
    amount = cost = ZERO
    implied = []
    with localcontext(Context(prec=60, rounding=ROUND_HALF_EVEN)):
        for fill in fills:
            signed = fill.amount if fill.side is OrderSide.BUY else -fill.amount
            realized = ZERO
            if amount and (amount > 0) != (signed > 0):
                reduced, held = min(fill.amount, abs(amount)), abs(amount)
                removed = cost if reduced == held else (cost * reduced / held).quantize(MONEY)
                direction = 1 if amount > 0 else -1
                realized = (fill.price * reduced - removed) * contract_size * direction
                cost -= removed
                amount -= direction * reduced
                signed += direction * reduced
            cost += fill.price * abs(signed)
            amount += signed
            implied.append(realized)
    return amount, cost, implied


class PaperMachine(RuleBasedStateMachine):
    """What both account kinds share: a price with a ladder book, orders of every type, moves, restarts."""

    market: MarketInfo

    def __init__(self) -> None:
        super().__init__()
        self.price, self.ts, self.counter = D(100), START_MS, 0
        self.account = PaperAccount(Ledger({"USDT": START_USDT}))

    def start(self, config: PaperConfig, balances: dict[str, Decimal]) -> None:
        self.account = PaperAccount(Ledger(balances), config)
        self.account.advance(self.market, [(self.price, self.ts)], None)

    @property
    def book(self) -> OrderBook:
        return ladder(self.price, levels=5, gap=D("0.5"), amount=D(1))

    def place(self, side: OrderSide, kind: OrderType, amount: Decimal, book: OrderBook | None = None, **fields):
        self.counter += 1
        request = OrderRequest(self.market.symbol, side, kind, amount, f"c{self.counter}", **fields)
        return self.attempt(lambda: self.account.place(request, self.market, book or self.book, self.ts))

    def attempt(self, action):
        """Run `action`; a refusal must leave balances and positions exactly as they were."""
        before = account_to_state(self.account)
        try:
            return action()
        except REFUSED:
            after = account_to_state(self.account)
            assert (after["ledger"], after["positions"]) == (before["ledger"], before["positions"])
            return None

    @rule(side=sides, amount=amounts)
    def market_order(self, side, amount):
        self.place(side, OrderType.MARKET, amount)

    @rule(side=sides, amount=amounts, offset=st.decimals(min_value=D("-0.1"), max_value=D("0.1"), places=3))
    def limit_order(self, side, amount, offset):
        self.place(side, OrderType.LIMIT, amount, price=(self.price * (1 + offset)).quantize(D("0.01")))

    @rule(
        side=sides,
        amount=amounts,
        distance=st.decimals(min_value=D("0.005"), max_value=D("0.15"), places=3),
        take_profit=st.booleans(),
    )
    def protective_order(self, side, amount, distance, take_profit):
        side = self.closing_side() or side
        below = (side is OrderSide.SELL) != take_profit
        trigger = (self.price * (1 - distance if below else 1 + distance)).quantize(D("0.01"))
        kind = OrderType.TAKE_PROFIT_MARKET if take_profit else OrderType.STOP_MARKET
        self.place(side, kind, amount, stop_price=trigger, reduce_only=True)

    @rule(number=st.integers(min_value=1, max_value=40))
    def cancel(self, number):
        self.attempt(lambda: self.account.cancel(f"paper-{number}", self.market.symbol, self.ts))

    def closing_side(self) -> OrderSide | None:
        """The side that reduces what is held, when something is: what a stop or a take-profit protects."""
        return None

    def walk(self, moves: list[Decimal]) -> list:
        """Walk the price through the moves (kept between 10 and 1000) in one look, as a candle would."""
        path = []
        for factor in moves:
            self.price = min(max((self.price * factor).quantize(D("0.01")), D(10)), D(1000))
            self.ts += HOUR
            path.append((self.price, self.ts))
        return self.account.advance(self.market, path, self.book)

    @rule()
    def restart(self):
        state = account_to_state(self.account)
        self.account = account_from_state(json.loads(json.dumps(state)), self.account.config)
        assert account_to_state(self.account) == state

    @invariant()
    def balances_consistent(self):
        ledger = self.account.ledger
        for currency in ledger.currencies():
            assert ledger.free(currency) >= 0, f"negative free {currency}"
        for order in self.account.orders.values():
            assert order.amount >= order.filled >= 0
            assert ledger.reserved(order.reservation_key) >= 0
            if not order.is_open:
                assert ledger.reserved(order.reservation_key) == 0


class PerpetualMachine(PaperMachine):
    market = perp_market(amount_step=D("0.001"), min_notional=D(1))

    @initialize(zero_fees=st.booleans())
    def open_account(self, zero_fees):
        self.start(PaperConfig(taker_fee=D(0), maker_fee=D(0)) if zero_fees else PaperConfig(), {"USDT": START_USDT})

    def positions(self):
        return self.account.position_views({self.market.symbol: self.market})

    def closing_side(self) -> OrderSide | None:
        position = self.account.positions.get(self.market.symbol)
        return position.closing_side if position is not None else None

    @rule(leverage=st.integers(min_value=10, max_value=50), side=sides, amount=amounts)
    def leveraged_entry(self, leverage, side, amount):
        """High leverage is where liquidations and funding beyond the margin happen."""
        self.attempt(lambda: self.account.set_leverage(self.market, leverage))
        self.place(side, OrderType.MARKET, amount)

    def equity(self) -> Decimal:
        """What the account shows: the USDT wallet total plus the open positions' unrealized PnL."""
        return self.account.ledger.total("USDT") + sum((p.unrealized_pnl for p in self.positions()), ZERO)

    def recorded_fees(self) -> Decimal:
        return sum((fill.fee for fill in recorded_fills(self.account)), ZERO)

    @rule(fraction=fractions)
    def close_at_the_mark(self, fraction):
        """A close filled at the mark turns unrealized PnL into realized PnL: equity moves by the fee only."""
        [position] = self.positions() or [None]
        if position is None:
            return
        amount = max((position.amount * fraction).quantize(D("0.001")), D("0.001"))
        side = OrderSide.SELL if position.side is PositionSide.LONG else OrderSide.BUY
        equity, fees = self.equity(), self.recorded_fees()
        at_the_mark = ladder(self.price, levels=1, gap=ZERO, amount=D(1000))
        assert self.place(side, OrderType.MARKET, amount, at_the_mark, reduce_only=True) is not None
        assert self.equity() == equity - (self.recorded_fees() - fees)

    @rule(moves=st.lists(factors, min_size=1, max_size=3))
    def move(self, moves):
        """With nothing firing on the way, equity moves by exactly amount * price change, per position."""
        start, equity, positions = self.price, self.equity(), self.positions()
        if self.walk(moves):
            return
        moved = sum(
            (p.amount * (self.price - start) * (1 if p.side is PositionSide.LONG else -1) for p in positions), ZERO
        )
        assert self.equity() == equity + moved * self.market.contract_size

    @rule(rate=st.decimals(min_value=D("-0.05"), max_value=D("0.05"), places=4))
    def funding(self, rate):
        equity, events = self.equity(), len(self.account.funding)
        liquidated = self.account.pay_funding(self.market, rate, self.price, self.ts)
        if len(self.account.funding) > events and not liquidated:
            assert self.equity() == equity - self.account.funding[-1].amount

    @rule(excess=st.decimals(min_value=D("0.5"), max_value=D(3), places=2))
    def funding_beyond_the_margin(self, excess):
        """A payment of `excess` times the margin: the position lives on as long as its profit covers it."""
        position = self.account.positions.get(self.market.symbol)
        margin = self.account.ledger.reserved(position.margin_key) if position is not None else ZERO
        if position is None or margin <= 0:
            return
        notional = position.amount * self.market.contract_size * self.price
        self.funding(((margin * excess) / notional).quantize(D("1e-6")) * position.direction)

    @rule(leverage=st.integers(min_value=1, max_value=50))
    def leverage(self, leverage):
        self.attempt(lambda: self.account.set_leverage(self.market, leverage))

    @invariant()
    def equity_is_what_the_records_say(self):
        fills = recorded_fills(self.account)
        realized = sum((fill.realized_pnl for fill in fills), ZERO)
        fees = sum((fill.fee for fill in fills), ZERO)
        funding = -sum((event.amount for event in self.account.funding), ZERO)
        unrealized = sum((p.unrealized_pnl for p in self.positions()), ZERO)
        assert self.equity() == START_USDT + realized - fees + funding + unrealized
        assert self.account.ledger.total("USDT") == START_USDT + realized - fees + funding

    @invariant()
    def positions_are_what_the_fills_say(self):
        fills = recorded_fills(self.account)
        size = self.market.contract_size
        amount, cost, implied = rebuild(fills, size)
        views = self.positions()
        assert [(p.side, p.amount) for p in views] == (
            [(PositionSide.LONG if amount > 0 else PositionSide.SHORT, abs(amount))] if amount else []
        )
        for view in views:
            direction = 1 if amount > 0 else -1
            assert view.unrealized_pnl == (self.price * abs(amount) - cost) * size * direction
            self.check_liquidation_price(view, cost, direction)
        for fill, at_price in zip(fills, implied, strict=True):
            assert fill.realized_pnl >= at_price, "isolated margin only ever caps a loss"
            if fill.order_id in self.liquidations():
                mmr = self.account.config.maintenance_margin_rate
                assert ZERO <= fill.fee <= mmr * fill.price * fill.amount * size, "liquidated above maintenance"

    def check_liquidation_price(self, view, cost: Decimal, direction: int) -> None:
        """The liquidation price is the last price step at or past the maintenance margin, and an open position
        is still short of it at the mark: it was liquidated at once otherwise (funding included)."""
        size, step = self.market.contract_size, self.market.price_step
        mmr = self.account.config.maintenance_margin_rate

        def above_maintenance(price: Decimal) -> bool:
            return view.margin + (price * view.amount - cost) * size * direction > mmr * price * view.amount * size

        if view.liquidation_price is None:  # a long whose margin covers it down to the smallest price
            assert direction > 0 and above_maintenance(step)
            return
        assert not above_maintenance(view.liquidation_price)
        assert above_maintenance(view.liquidation_price + step * direction)
        assert (self.price - view.liquidation_price) * direction > 0, "open past its liquidation price"

    def liquidations(self) -> set[str]:
        return {o.id for o in self.account.orders.values() if o.client_order_id.startswith("paper-liquidation")}


class SpotMachine(PaperMachine):
    market = spot_market(amount_step=D("0.001"), min_notional=D(1))

    @initialize(quote_fees=st.booleans())
    def open_account(self, quote_fees):
        config = PaperConfig(spot_fee_currency=SpotFeeCurrency.QUOTE if quote_fees else SpotFeeCurrency.RECEIVED)
        self.start(config, {"USDT": START_USDT, "BTC": START_BTC})

    def closing_side(self) -> OrderSide | None:
        return OrderSide.SELL if self.account.ledger.free("BTC") > 0 else None

    @rule(moves=st.lists(factors, min_size=1, max_size=3))
    def move(self, moves):
        self.walk(moves)

    @invariant()
    def every_unit_is_what_the_fills_say(self):
        usdt, btc = START_USDT, START_BTC
        for fill in recorded_fills(self.account):
            assert fill.realized_pnl is None  # a spot fill swaps currencies; it realizes nothing by itself
            quote_fee = fill.fee if fill.fee_currency == "USDT" else ZERO
            base_fee = fill.fee if fill.fee_currency == "BTC" else ZERO
            cost = fill.price * fill.amount
            if fill.side is OrderSide.BUY:
                usdt, btc = usdt - cost - quote_fee, btc + fill.amount - base_fee
            else:
                usdt, btc = usdt + cost - quote_fee, btc - fill.amount - base_fee
        ledger = self.account.ledger
        assert (ledger.total("USDT"), ledger.total("BTC")) == (usdt, btc)
        assert ledger.total("USDT") + ledger.total("BTC") * self.price == usdt + btc * self.price


MACHINE_SETTINGS = settings(
    max_examples=400, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PerpetualMachine.TestCase.settings = MACHINE_SETTINGS
SpotMachine.TestCase.settings = settings(MACHINE_SETTINGS, max_examples=200)
test_perpetual_account_when_any_sequence_then_equity_is_what_the_records_say = PerpetualMachine.TestCase
test_spot_account_when_any_sequence_then_every_unit_is_what_the_fills_say = SpotMachine.TestCase

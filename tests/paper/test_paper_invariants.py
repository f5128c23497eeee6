"""Property tests: whatever orders and prices arrive, the paper books stay consistent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.exchange.errors import InsufficientFunds, InvalidOrder, OrderNotFound
from adapters.exchange.paper import (
    Ledger,
    PaperAccount,
    PaperConfig,
    SpotFeeCurrency,
    account_from_state,
    account_to_state,
)
from domain.market import MarketInfo, MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType

from .scripted_feed import START_MS, ladder, perp_market, spot_market

D = Decimal
START_USDT = D(1000)
START_BTC = D(3)
HOUR = 3_600_000

amounts = st.decimals(min_value=D("0.001"), max_value=D(6), places=3)
offsets = st.decimals(min_value=D("-0.2"), max_value=D("0.2"), places=3)
sides = st.sampled_from(list(OrderSide))
moves = st.tuples(st.just("move"), st.decimals(min_value=D("0.8"), max_value=D("1.25"), places=3))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("market"), sides, amounts, st.booleans()),
        st.tuples(st.just("limit"), sides, amounts, offsets),
        st.tuples(
            st.just("stop"),
            sides,
            amounts,
            st.decimals(min_value=D("0.01"), max_value=D("0.3"), places=3),
            st.booleans(),
        ),
        st.tuples(st.just("cancel"), st.integers(min_value=1, max_value=40)),
        moves,
        moves,
        st.tuples(st.just("funding"), st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=4)),
        st.tuples(st.just("leverage"), st.integers(min_value=1, max_value=25)),
    ),
    max_size=30,
)


def expected_reservations(account: PaperAccount, market: MarketInfo, fee_currency: SpotFeeCurrency) -> dict[str, D]:
    """What the open orders and positions should hold, recomputed from the orders themselves."""
    used = {market.quote: D(0), market.base: D(0)}
    maker = account.config.maker(market)
    for order in account.open_orders():
        if order.type is not OrderType.LIMIT:
            continue
        notional = order.remaining * order.price
        if market.type is MarketType.PERPETUAL:
            if not order.reduce_only:
                leverage = account.leverage.get(market.symbol, 1)
                used[market.quote] += (notional / leverage).quantize(D("1e-12")) + (notional * maker).quantize(
                    D("1e-12")
                )
        elif order.side is OrderSide.BUY:
            used[market.quote] += notional * (1 + maker) if fee_currency is SpotFeeCurrency.QUOTE else notional
        else:
            used[market.base] += order.remaining
    for position in account.positions.values():
        used[market.quote] += account.ledger.reserved(position.margin_key)
    return used


def check_invariants(account: PaperAccount, market: MarketInfo, fee_currency: SpotFeeCurrency) -> None:
    ledger = account.ledger
    balance = ledger.balance(0)
    for currency, entry in balance.currencies.items():
        assert entry.free + entry.used == ledger.total(currency)
        assert entry.free >= 0, f"negative free {currency}: {entry.free}"
    for currency, used in expected_reservations(account, market, fee_currency).items():
        assert ledger.used(currency) == used, currency
    for position in account.positions.values():
        # funding beyond the margin leaves the isolated wallet at or below zero, never anything else
        assert position.amount > 0 and (ledger.reserved(position.margin_key) > 0 or position.funding_paid > 0)
    for order in account.orders.values():
        assert order.amount >= order.filled >= 0 and ledger.reserved(order.reservation_key) >= 0
        if order.status is OrderStatus.OPEN:
            assert order.filled == 0
        if not order.is_open:
            assert ledger.reserved(order.reservation_key) == 0
    if market.type is MarketType.SPOT:
        check_spot_conservation(account, market, fee_currency)


def check_spot_conservation(account: PaperAccount, market: MarketInfo, fee_currency: SpotFeeCurrency) -> None:
    """Every unit of BTC and USDT in the totals is accounted for by a fill."""
    usdt, btc = START_USDT, START_BTC
    for order in account.orders.values():
        for fill in order.fills:
            cost = fill.price * fill.amount
            if fill.side is OrderSide.BUY:
                usdt -= cost + (fill.fee if fill.fee_currency == market.quote else 0)
                btc += fill.amount - (fill.fee if fill.fee_currency == market.base else 0)
            else:
                usdt += cost - fill.fee
                btc -= fill.amount
    assert account.ledger.total(market.quote) == usdt
    assert account.ledger.total(market.base) == btc


def run(operations, market: MarketInfo, fee_currency: SpotFeeCurrency) -> None:
    account = PaperAccount(Ledger({"USDT": START_USDT, "BTC": START_BTC}), PaperConfig(spot_fee_currency=fee_currency))
    price, ts = D(100), START_MS
    account.advance(market, [(price, ts)], None)
    book = ladder(price, levels=5, gap=D("0.5"), amount=D(1))
    for counter, operation in enumerate(operations, start=1):
        kind = operation[0]
        before = account_to_state(account)
        try:
            if kind == "market":
                _, side, amount, reduce_only = operation
                account.place(
                    OrderRequest(market.symbol, side, OrderType.MARKET, amount, f"c{counter}", reduce_only=reduce_only),
                    market,
                    book,
                    ts,
                )
            elif kind == "limit":
                _, side, amount, offset = operation
                limit = (price * (1 + offset)).quantize(D("0.01"))
                account.place(
                    OrderRequest(market.symbol, side, OrderType.LIMIT, amount, f"c{counter}", price=limit),
                    market,
                    book,
                    ts,
                )
            elif kind == "stop":
                _, side, amount, distance, take_profit = operation
                below = (side is OrderSide.SELL) != take_profit
                trigger = (price * (1 - distance if below else 1 + distance)).quantize(D("0.01"))
                order_type = OrderType.TAKE_PROFIT_MARKET if take_profit else OrderType.STOP_MARKET
                account.place(
                    OrderRequest(
                        market.symbol, side, order_type, amount, f"c{counter}", stop_price=trigger, reduce_only=True
                    ),
                    market,
                    book,
                    ts,
                )
            elif kind == "cancel":
                account.cancel(f"paper-{operation[1]}", market.symbol, ts)
            elif kind == "move":
                price = (price * operation[1]).quantize(D("0.01"))
                ts += HOUR
                book = ladder(price, levels=5, gap=D("0.5"), amount=D(1))
                account.advance(market, [(price, ts)], book)
            elif kind == "funding" and market.type is MarketType.PERPETUAL:
                account.pay_funding(market, operation[1], price, ts)
            elif kind == "leverage" and market.type is MarketType.PERPETUAL:
                account.set_leverage(market, operation[1])
        except (InsufficientFunds, InvalidOrder, OrderNotFound):
            assert account_to_state(account)["ledger"] == before["ledger"], "a refused request changed balances"
            assert account_to_state(account)["positions"] == before["positions"]
        check_invariants(account, market, fee_currency)
    restored = account_from_state(account_to_state(account), account.config)
    assert account_to_state(restored) == account_to_state(account)


PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(operations, st.sampled_from(list(SpotFeeCurrency)))
def test_spot_books_when_any_orders_and_prices_then_balances_consistent_and_conserved(ops, fee_currency):
    run(ops, spot_market(amount_step=D("0.001"), min_notional=D(1)), fee_currency)


@PROPERTY_SETTINGS
@given(operations)
def test_perpetual_books_when_any_orders_prices_and_funding_then_balances_consistent(ops):
    run(ops, perp_market(amount_step=D("0.001"), min_notional=D(1)), SpotFeeCurrency.RECEIVED)

"""Book walking and trigger geometry, the pure math under the paper exchange."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange.paper import anchored_levels, walk_book
from adapters.exchange.paper.triggers import Direction, candle_path, order_direction, touch
from domain.market import BookLevel, Candle
from domain.trading import OrderSide, OrderType

from .scripted_feed import ladder

D = Decimal
ASKS = (BookLevel(D(101), D(1)), BookLevel(D(102), D(2)), BookLevel(D(104), D(1)))


def test_walk_book_when_amount_spans_levels_then_average_and_slippage_reflect_each_level():
    walk = walk_book(ASKS, OrderSide.BUY, D("3.5"))

    assert [(f.price, f.amount) for f in walk.fills] == [(D(101), D(1)), (D(102), D(2)), (D(104), D("0.5"))]
    assert walk.cost == D(101) + D(204) + D(52)
    assert walk.average_price == D(357) / D("3.5")
    assert walk.slippage == (D(357) / D("3.5") - D(101)) / D(101)


def test_walk_book_when_limit_price_reached_then_stops_before_worse_levels():
    walk = walk_book(ASKS, OrderSide.BUY, D(5), limit_price=D("102.5"))

    assert walk.amount == D(3) and walk.fills[-1].price == D(102)


def test_walk_book_when_book_exhausted_without_limit_then_rest_fills_at_deepest_price():
    walk = walk_book(ASKS, OrderSide.BUY, D(6))

    assert walk.fills[-1].price == D(104) and walk.fills[-1].amount == D(3) and walk.amount == D(6)


def test_anchored_levels_when_trigger_far_from_market_then_book_shape_moves_with_it():
    book = ladder(D(100), levels=3, gap=D(1), amount=D(2))

    bids = anchored_levels(book, OrderSide.SELL, D(90))

    assert [level.price for level in bids] == [D("89.5"), D("88.5"), D("87.5")]
    assert anchored_levels(None, OrderSide.SELL, D(90))[0].price == D(90)


def test_touch_when_move_crosses_level_then_level_and_when_already_past_then_start():
    assert touch(D(100), D(90), D(95), Direction.FALLS_TO) == D(95)
    assert touch(D(100), D(96), D(95), Direction.FALLS_TO) is None
    assert touch(D(94), D(99), D(95), Direction.FALLS_TO) == D(94)
    assert touch(D(100), D(110), D(105), Direction.RISES_TO) == D(105)


def test_order_direction_when_each_kind_then_stops_chase_and_limits_wait():
    assert order_direction(OrderType.STOP_MARKET, OrderSide.SELL) is Direction.FALLS_TO
    assert order_direction(OrderType.STOP_MARKET, OrderSide.BUY) is Direction.RISES_TO
    assert order_direction(OrderType.TAKE_PROFIT_MARKET, OrderSide.SELL) is Direction.RISES_TO
    assert order_direction(OrderType.LIMIT, OrderSide.BUY) is Direction.FALLS_TO


def test_candle_path_when_up_or_down_candle_then_low_or_high_visited_first():
    up = Candle(0, D(10), D(12), D(9), D(11), D(1))
    down = Candle(0, D(11), D(12), D(9), D(10), D(1))

    assert candle_path(up) == [D(10), D(9), D(12), D(11)]
    assert candle_path(down) == [D(11), D(12), D(9), D(10)]

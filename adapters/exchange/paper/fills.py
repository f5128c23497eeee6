"""Fill math: walking an order book level by level, and re-anchoring a book on a trigger price.

A market order takes each level's amount in turn, best price first, so its average price moves away from the
best price as it grows: that distance is the slippage, visible as one fill per level taken. When the visible
book runs out, the rest fills at the deepest visible price (the book shows only the top levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.fast_init import fast_init
from domain.market import BookLevel, OrderBook
from domain.trading import OrderSide

ZERO = Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class LevelFill:
    price: Decimal
    amount: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class BookWalk:
    fills: tuple[LevelFill, ...]
    best_price: Decimal | None

    @property
    def amount(self) -> Decimal:
        return sum((fill.amount for fill in self.fills), ZERO)

    @property
    def cost(self) -> Decimal:
        """Quote value of the fills (price * amount summed)."""
        return sum((fill.price * fill.amount for fill in self.fills), ZERO)

    @property
    def average_price(self) -> Decimal | None:
        amount = self.amount
        return self.cost / amount if amount else None

    @property
    def slippage(self) -> Decimal:
        """How much worse than the best level the average is, as a fraction of the best price (>= 0)."""
        average = self.average_price
        if average is None or not self.best_price:
            return ZERO
        return abs(average - self.best_price) / self.best_price


def book_side(book: OrderBook, side: OrderSide) -> tuple[BookLevel, ...]:
    """The levels an order of `side` takes from: a buy lifts the asks, a sell hits the bids."""
    return book.asks if side is OrderSide.BUY else book.bids


def walk_book(
    levels: Sequence[BookLevel], side: OrderSide, amount: Decimal, limit_price: Decimal | None = None
) -> BookWalk:
    """Fill up to `amount` from `levels` (best first); with a limit price, stop at levels worse than it.

    Without a limit the remainder beyond the visible levels fills at the deepest visible price.
    """
    fills: list[LevelFill] = []
    remaining = amount
    best = levels[0].price if levels else None
    for level in levels:
        if remaining <= 0:
            break
        if limit_price is not None and (
            level.price > limit_price if side is OrderSide.BUY else level.price < limit_price
        ):
            break
        take = min(remaining, level.amount)
        if take > 0:
            fills.append(LevelFill(level.price, take))
            remaining -= take
    if remaining > 0 and limit_price is None and levels:
        deepest = levels[-1].price
        if fills and fills[-1].price == deepest:
            fills[-1] = LevelFill(deepest, fills[-1].amount + remaining)
        else:
            fills.append(LevelFill(deepest, remaining))
    return BookWalk(fills=tuple(fills), best_price=best)


def anchored_levels(book: OrderBook | None, side: OrderSide, anchor: Decimal) -> tuple[BookLevel, ...]:
    """The book side shifted so its mid sits on `anchor`: a stop that fires at its trigger price pays the
    book's spread and depth from there rather than from wherever the market is now. With no book, one level
    at the anchor."""
    if book is None or not book.bids or not book.asks:
        return (BookLevel(price=anchor, amount=Decimal("Infinity")),)
    shift = anchor - (book.bids[0].price + book.asks[0].price) / 2
    shifted = tuple(BookLevel(price=level.price + shift, amount=level.amount) for level in book_side(book, side))
    return tuple(level for level in shifted if level.price > 0) or (
        BookLevel(price=anchor, amount=Decimal("Infinity")),
    )

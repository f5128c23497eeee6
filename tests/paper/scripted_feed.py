"""A MarketData stand-in whose prices, books and funding a test sets by hand (no network, no patching)."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange.errors import InvalidSymbol
from domain.market import BookLevel, Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker

D = Decimal
HOUR = 3_600_000
START_MS = 1_700_000_000_000 - 1_700_000_000_000 % (8 * HOUR)  # on the 8h funding grid
ONE = D(1)
HUNDRED = D(100)


def spot_market(symbol: str = "BTC/USDT", **overrides) -> MarketInfo:
    base, quote = symbol.split("/")
    fields = {
        "symbol": symbol,
        "base": base,
        "quote": quote.split(":")[0],
        "type": MarketType.SPOT,
        "amount_step": D("0.001"),
        "price_step": D("0.01"),
        "min_amount": D("0.001"),
        "min_notional": D("5"),
        "taker_fee": D("0.001"),
        "maker_fee": D("0.0005"),
    }
    fields.update(overrides)
    return MarketInfo(**fields)


def perp_market(symbol: str = "BTC/USDT:USDT", **overrides) -> MarketInfo:
    fields = {"type": MarketType.PERPETUAL, "max_leverage": 50, "taker_fee": D("0.0005"), "maker_fee": D("0.0002")}
    fields.update(overrides)
    return spot_market(symbol, **fields)


def ladder(mid: Decimal, levels: int = 5, gap: Decimal = ONE, amount: Decimal = ONE) -> OrderBook:
    """A book with `levels` levels each side, `gap` apart, best levels at mid -/+ gap/2."""
    half = gap / 2
    return OrderBook(
        symbol="",
        ts=0,
        bids=tuple(BookLevel(mid - half - gap * i, amount) for i in range(levels)),
        asks=tuple(BookLevel(mid + half + gap * i, amount) for i in range(levels)),
    )


class ScriptedFeed:
    exchange_id = "scripted"

    def __init__(self, *markets: MarketInfo, price: Decimal = HUNDRED) -> None:
        self.markets = {market.symbol: market for market in markets}
        self.now = START_MS
        self.prices = {symbol: price for symbol in self.markets}
        self.books: dict[str, OrderBook] = {}
        self.candles: dict[str, list[Candle]] = {symbol: [] for symbol in self.markets}
        self.funding_rate = D(0)
        self.closed = False
        self.ticker_calls = 0

    def clock(self) -> int:
        return self.now

    def set_price(self, symbol: str, price: Decimal, book: OrderBook | None = None) -> None:
        self.prices[symbol] = price
        if book is not None:
            self.books[symbol] = book
        else:
            self.books.pop(symbol, None)

    def _market(self, symbol: str) -> MarketInfo:
        if symbol not in self.markets:
            raise InvalidSymbol(f"{symbol} is not traded here.")
        return self.markets[symbol]

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        return dict(self.markets)

    async def market(self, symbol: str) -> MarketInfo:
        return self._market(symbol)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        self._market(symbol)
        self.ticker_calls += 1
        return Ticker(symbol=symbol, ts=self.now, last=self.prices[symbol])

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None) -> list[Candle]:
        candles = [c for c in self.candles[symbol] if since is None or c.ts >= since]
        return candles[:limit] if limit else candles

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        self._market(symbol)
        book = self.books.get(symbol) or ladder(self.prices[symbol], levels=limit, gap=D("0.02"), amount=D(1000))
        return OrderBook(symbol=symbol, ts=self.now, bids=book.bids[:limit], asks=book.asks[:limit])

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        market = self._market(symbol)
        if market.type is not MarketType.PERPETUAL:
            raise InvalidSymbol(f"{symbol} is spot.")
        return FundingRate(symbol=symbol, rate=self.funding_rate, ts=self.now, mark_price=self.prices[symbol])

    async def close(self) -> None:
        self.closed = True

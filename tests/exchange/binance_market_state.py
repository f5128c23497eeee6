"""Market side of the Binance emulator: symbols and filters, deterministic klines, prices, books, funding.

Klines are a pure function of their open time, so a test can compute the expected candle for any timestamp
without talking to the emulator (see `expected_close`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

INTERVAL_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


@dataclass
class SymbolSpec:
    """One tradable symbol with the filters Binance reports for it."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    price: Decimal
    max_leverage: int = 125

    def spot_info(self) -> dict:
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "TAKE_PROFIT"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": str(self.tick_size),
                    "maxPrice": "1000000.00000000",
                    "tickSize": str(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": str(self.min_qty),
                    "maxQty": "9000.00000000",
                    "stepSize": str(self.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": str(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def futures_info(self) -> dict:
        return {
            "symbol": self.symbol,
            "pair": self.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": self.base,
            "quoteAsset": self.quote,
            "marginAsset": self.quote,
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": str(self.tick_size),
                    "maxPrice": "4529764",
                    "tickSize": str(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": str(self.min_qty),
                    "maxQty": "1000",
                    "stepSize": str(self.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": str(self.min_qty),
                    "maxQty": "120",
                    "stepSize": str(self.step_size),
                },
                {"filterType": "MIN_NOTIONAL", "notional": str(self.min_notional)},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }


def default_spot_symbols() -> dict[str, SymbolSpec]:
    return {
        "BTCUSDT": SymbolSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            Decimal("0.01"),
            Decimal("0.00001"),
            Decimal("0.00001"),
            Decimal(5),
            Decimal("30000.00"),
        ),
        "ETHUSDT": SymbolSpec(
            "ETHUSDT",
            "ETH",
            "USDT",
            Decimal("0.01"),
            Decimal("0.0001"),
            Decimal("0.0001"),
            Decimal(5),
            Decimal("2000.00"),
        ),
    }


def default_futures_symbols() -> dict[str, SymbolSpec]:
    return {
        "BTCUSDT": SymbolSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            Decimal("0.10"),
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal(100),
            Decimal("30000.00"),
        ),
        "ETHUSDT": SymbolSpec(
            "ETHUSDT",
            "ETH",
            "USDT",
            Decimal("0.01"),
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal(20),
            Decimal("2000.00"),
            max_leverage=100,
        ),
    }


def expected_close(open_ms: int, interval_ms: int) -> Decimal:
    """The close of the emulator's candle opening at open_ms: a saw-tooth between 30000 and 30995."""
    index = open_ms // interval_ms
    return Decimal(30000 + (index % 200) * 5)


def kline_row(open_ms: int, interval_ms: int) -> list:
    close = expected_close(open_ms, interval_ms)
    open_ = close - 2
    return [
        open_ms,
        f"{open_:.2f}",
        f"{close + 10:.2f}",
        f"{open_ - 10:.2f}",
        f"{close:.2f}",
        "1.50000000",
        open_ms + interval_ms - 1,
        f"{close * Decimal('1.5'):.8f}",
        42,
        "0.75000000",
        f"{close * Decimal('0.75'):.8f}",
        "0",
    ]


@dataclass
class MarketState:
    """Symbols, klines history bounds and funding for both the spot and the USDT-M futures API."""

    spot: dict[str, SymbolSpec] = field(default_factory=default_spot_symbols)
    futures: dict[str, SymbolSpec] = field(default_factory=default_futures_symbols)
    history_start_ms: int = 1_704_067_200_000  # 2024-01-01T00:00Z
    history_end_ms: int = 1_704_067_200_000 + 30 * 86_400_000
    funding_rate: Decimal = Decimal("0.00010000")
    next_funding_ms: int = 1_704_096_000_000

    def klines(self, interval: str, start: int | None, end: int | None, limit: int) -> list[list]:
        step = INTERVAL_MS[interval]
        first = self.history_start_ms - self.history_start_ms % step
        last = self.history_end_ms - self.history_end_ms % step
        if end is not None:
            last = min(last, end - end % step)
        if start is not None:
            begin = max(first, start + (-start) % step)
        else:
            begin = max(first, last - (limit - 1) * step)
        rows = []
        ts = begin
        while ts <= last and len(rows) < limit:
            rows.append(kline_row(ts, step))
            ts += step
        return rows

    def depth(self, spec: SymbolSpec, limit: int) -> tuple[list[list[str]], list[list[str]]]:
        levels = min(limit, 100)
        bids = [[str(spec.price - spec.tick_size * (i + 1)), f"{Decimal('0.5') + i:.3f}"] for i in range(levels)]
        asks = [[str(spec.price + spec.tick_size * (i + 1)), f"{Decimal('0.4') + i:.3f}"] for i in range(levels)]
        return bids, asks

    def best_bid_ask(self, spec: SymbolSpec) -> tuple[Decimal, Decimal]:
        return spec.price - spec.tick_size, spec.price + spec.tick_size

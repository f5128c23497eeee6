"""Knobs of the paper exchange: fees, the spot fee currency, maintenance margin, funding schedule."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.market import MarketInfo


class SpotFeeCurrency(StrEnum):
    RECEIVED = "received"  # Binance's default: a buy pays its fee in the base bought, a sell in the quote received
    QUOTE = "quote"  # every fee in the quote currency (as when paying fees with a separate token)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """taker_fee / maker_fee of None use the market's own fees (MarketInfo)."""

    taker_fee: Decimal | None = None
    maker_fee: Decimal | None = None
    spot_fee_currency: SpotFeeCurrency = SpotFeeCurrency.RECEIVED
    maintenance_margin_rate: Decimal = Decimal("0.005")  # 0.5% of notional, isolated margin
    funding_interval_ms: int = 8 * 3_600_000  # funding at 00:00, 08:00, 16:00 UTC
    book_depth: int = 50  # levels fetched to walk a market order
    candle_timeframe: str | None = None  # also walk the high/low of candles closed since the last look
    # history kept in full (and saved): the latest final orders and funding events; None keeps everything.
    # Older final orders are kept as summaries (RetiredOrder), so client order ids stay idempotent for good.
    keep_final_orders: int | None = 100
    keep_funding_events: int | None = 100

    def __post_init__(self) -> None:
        for name in ("keep_final_orders", "keep_funding_events"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be at least 0 (or None to keep everything), not {value}")

    def taker(self, market: MarketInfo) -> Decimal:
        return market.taker_fee if self.taker_fee is None else self.taker_fee

    def maker(self, market: MarketInfo) -> Decimal:
        return market.maker_fee if self.maker_fee is None else self.maker_fee

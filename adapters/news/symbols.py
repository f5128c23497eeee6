"""Match headlines to the base currencies they talk about (BTC -> Bitcoin, BTC, $btc, XBT ...).

Names match in any case; tickers only in capitals or with a $ prefix, so "a ton of" is not Toncoin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALIASES: dict[str, tuple[str, ...]] = {
    "BTC": ("bitcoin", "bitcoins", "xbt"),
    "ETH": ("ethereum", "ether"),
    "SOL": ("solana",),
    "BNB": ("binance coin",),
    "XRP": ("ripple",),
    "ADA": ("cardano",),
    "DOGE": ("dogecoin",),
    "TON": ("toncoin",),
    "TRX": ("tron",),
    "AVAX": ("avalanche",),
    "DOT": ("polkadot",),
    "LINK": ("chainlink",),
    "LTC": ("litecoin",),
    "MATIC": ("polygon",),
    "POL": ("polygon",),
    "SHIB": ("shiba inu",),
    "ARB": ("arbitrum",),
    "OP": ("optimism",),
    "USDT": ("tether",),
    "USDC": (),
}

_PATTERNS: dict[str, re.Pattern[str]] = {}


def base_currency(symbol: str) -> str:
    """'BTC/USDT:USDT' -> 'BTC'; a bare 'btc' -> 'BTC'."""
    return symbol.split("/")[0].split(":")[0].strip().upper()


def _pattern(base: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(base)
    if pattern is None:
        names = "|".join(re.escape(name) for name in sorted(ALIASES.get(base, ()), key=len, reverse=True))
        ticker = re.escape(base)
        alternatives = [rf"\$(?i:{ticker})", rf"(?-i:{ticker})"] + ([rf"(?i:{names})"] if names else [])
        pattern = re.compile(rf"(?<![\w$])(?:{'|'.join(alternatives)})(?!\w)")
        _PATTERNS[base] = pattern
    return pattern


def match_symbols(text: str, bases: Iterable[str] = ALIASES) -> frozenset[str]:
    """The base currencies among `bases` that text mentions by ticker or name (whole words only)."""
    return frozenset(base.upper() for base in bases if _pattern(base.upper()).search(text))

"""Headline sentiment -1.0 (bearish) .. +1.0 (bullish): VADER extended with crypto-market vocabulary.

VADER scores single tokens, so multi-word terms ("rug pull", "ETF approval") are folded into one token first.
"""

from __future__ import annotations

import re

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER's scale runs about -4 .. +4 per token.
CRYPTO_LEXICON: dict[str, float] = {
    "bullish": 2.6,
    "bearish": -2.6,
    "moon": 2.2,
    "mooning": 2.4,
    "pump": 1.2,
    "pumping": 1.4,
    "rally": 2.0,
    "rallies": 2.0,
    "surge": 2.0,
    "surges": 2.0,
    "soar": 2.2,
    "soars": 2.2,
    "breakout": 1.6,
    "ath": 2.2,
    "adoption": 1.6,
    "approval": 2.0,
    "approved": 2.0,
    "approves": 2.0,
    "inflows": 1.4,
    "upgrade": 1.2,
    "partnership": 1.2,
    "accumulation": 1.2,
    "hodl": 1.0,
    "halving": 0.8,
    "etfapproval": 3.0,
    "dump": -2.2,
    "dumps": -2.2,
    "dumping": -2.4,
    "crash": -3.0,
    "crashes": -3.0,
    "plunge": -2.6,
    "plunges": -2.6,
    "tumble": -2.2,
    "tumbles": -2.2,
    "selloff": -2.2,
    "hack": -3.0,
    "hacked": -3.2,
    "exploit": -2.8,
    "exploited": -3.0,
    "drained": -2.8,
    "rekt": -2.8,
    "scam": -3.0,
    "fraud": -3.2,
    "ponzi": -3.0,
    "rugpull": -3.4,
    "liquidated": -2.4,
    "liquidations": -2.0,
    "outflows": -1.4,
    "lawsuit": -1.8,
    "sues": -1.8,
    "ban": -2.2,
    "bans": -2.2,
    "delisting": -2.2,
    "delists": -2.2,
    "insolvent": -3.0,
    "bankruptcy": -3.2,
    "depeg": -2.6,
    "fud": -1.6,
    "etfrejection": -2.8,
    "capitulation": -2.4,
    "correction": -1.0,
}

PHRASES: dict[str, str] = {
    r"rug[\s-]?pull(?:ed|s)?": "rugpull",
    r"etf\s+(?:approval|approved|approves|green[\s-]?light(?:s|ed)?)": "etfapproval",
    r"(?:approv(?:es|ed|al of)|green[\s-]?lights?)\s+(?:\w+\s+){0,2}etf": "etfapproval",
    r"etf\s+(?:rejection|rejected|rejects|denied|denial)": "etfrejection",
    r"(?:rejects?|denie[sd])\s+(?:\w+\s+){0,2}etf": "etfrejection",
    r"all[\s-]time[\s-]high": "ath",
    r"sell[\s-]off": "selloff",
    r"to\s+the\s+moon": "moon",
}
_PHRASE_PATTERNS = [(re.compile(rf"\b{pattern}\b", re.IGNORECASE), token) for pattern, token in PHRASES.items()]


class CryptoSentiment:
    """One analyser per process: building the lexicon is the expensive part."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        self._analyzer.lexicon.update(CRYPTO_LEXICON)

    def score(self, text: str) -> float:
        folded = text
        for pattern, token in _PHRASE_PATTERNS:
            folded = pattern.sub(token, folded)
        compound = float(self._analyzer.polarity_scores(folded)["compound"])
        return max(-1.0, min(1.0, round(compound, 4)))

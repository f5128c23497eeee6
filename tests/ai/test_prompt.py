import re
from datetime import UTC, datetime
from decimal import Decimal

from adapters.ai.prompt import PROMPT_VERSION, build_prompt
from domain.snapshot import NewsItem
from domain.trading import PositionSide
from tests.ai.market_data import history_snapshot


def test_build_prompt_when_snapshot_complete_then_every_section_present():
    news = (
        NewsItem(
            "Bitcoin ETF approval lifts market",
            "https://n/1",
            "coindesk",
            datetime(2018, 2, 10, tzinfo=UTC),
            frozenset({"BTC"}),
            0.71,
        ),
    )
    snapshot = history_snapshot(5000, position_side=PositionSide.LONG, entry_price=Decimal("10950.5"), news=news)
    prompt = build_prompt(snapshot)
    for needle in (
        "BTC/USDT",
        "## 1h candles",
        "## 4h candles",
        "RSI14",
        "MACD",
        "Bollinger",
        "EMA200",
        "ATR14",
        "volume ratio",
        "Order book imbalance",
        "Funding rate",
        "+0.71",
        "ETF approval",
        "Position: long, entry price 10950.5",
        str(snapshot.price),
    ):
        assert needle in prompt, needle
    assert PROMPT_VERSION


def test_build_prompt_when_built_twice_then_identical_so_answers_can_be_shared():
    assert build_prompt(history_snapshot(5000)) == build_prompt(history_snapshot(5000))


def test_build_prompt_when_flat_then_says_flat_and_mentions_no_account_data():
    prompt = build_prompt(history_snapshot(5000)).lower()
    assert "position: flat" in prompt
    for word in ("balance", "equity", "user", "telegram", "budget"):
        assert not re.search(rf"\b{word}\b", prompt), word

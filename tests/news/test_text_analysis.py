from datetime import UTC, datetime, timedelta

import pytest

from adapters.news.dedup import deduplicate, normalise_url, title_key
from adapters.news.port import FeedError
from adapters.news.rss import parse_feed
from adapters.news.sentiment import CryptoSentiment
from adapters.news.symbols import base_currency, match_symbols
from domain.snapshot import NewsItem

SENTIMENT = CryptoSentiment()


@pytest.mark.parametrize(
    "headline",
    [
        "SEC approves spot Bitcoin ETF",
        "Bitcoin to the moon as bullish traders pile in",
        "Ether hits new all-time high",
        "Analysts turn bullish on Solana",
    ],
)
def test_score_when_bullish_crypto_headline_then_positive(headline):
    assert SENTIMENT.score(headline) > 0.2


@pytest.mark.parametrize(
    "headline",
    [
        "DeFi protocol suffers rug pull",
        "Exchange hacked, funds drained",
        "Traders rekt as Bitcoin dumps",
        "Bridge exploit costs users $80M",
        "Bearish divergence on Ethereum chart",
        "SEC rejects Bitcoin ETF",
    ],
)
def test_score_when_bearish_crypto_headline_then_negative(headline):
    assert SENTIMENT.score(headline) < -0.2


def test_score_when_crypto_vocabulary_then_stronger_than_plain_vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    plain = SentimentIntensityAnalyzer().polarity_scores("Protocol rug pull leaves holders rekt")["compound"]
    assert SENTIMENT.score("Protocol rug pull leaves holders rekt") < plain - 0.3


def test_score_when_neutral_headline_then_near_zero_and_in_range():
    assert abs(SENTIMENT.score("Bitcoin trading volume reported for Tuesday")) < 0.2
    assert -1.0 <= SENTIMENT.score("crash crash hack exploit scam rekt dump") <= 1.0


def test_match_symbols_when_names_tickers_and_cashtags_then_found_without_false_words():
    assert match_symbols("Ether and $btc rally while XRP waits") == {"ETH", "BTC", "XRP"}
    assert match_symbols("a ton of news about sol-gel chemistry") == frozenset()
    assert match_symbols("Bitcoin's dominance grows") == {"BTC"}


def test_base_currency_when_futures_symbol_then_base_only():
    assert base_currency("BTC/USDT:USDT") == "BTC" and base_currency("eth") == "ETH"


def test_normalise_url_when_tracking_params_case_and_slash_differ_then_equal():
    assert normalise_url("HTTP://www.CoinNews.example/a/?utm_source=x&id=3#top") == normalise_url(
        "https://coinnews.example/a?id=3"
    )


def test_deduplicate_when_same_story_by_title_or_url_then_earliest_kept():
    now = datetime.now(UTC)
    items = [
        NewsItem("Bitcoin rallies!", "https://a.example/1", "a", now),
        NewsItem("bitcoin RALLIES", "https://b.example/9", "b", now - timedelta(minutes=5)),
        NewsItem("Different words", "https://a.example/1?utm_medium=rss", "c", now - timedelta(minutes=1)),
        NewsItem("Ether falls", "https://a.example/2", "a", now),
    ]
    kept = deduplicate(items)
    assert [item.source for item in kept] == ["b", "c", "a"]
    assert title_key("Bitcoin rallies!") == title_key("bitcoin   RALLIES")


def test_parse_feed_when_garbage_then_feed_error():
    with pytest.raises(FeedError, match="not a valid RSS/Atom feed"):
        parse_feed(b"\x00\x01 definitely not xml", "junk")


def test_news_item_when_naive_time_or_bad_sentiment_then_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        NewsItem("t", "u", "s", datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="outside -1"):
        NewsItem("t", "u", "s", datetime(2024, 1, 1, tzinfo=UTC), sentiment=1.5)

import asyncio
import json
import time
from datetime import timedelta

from pydantic import SecretStr

from adapters.news.cryptopanic import CryptoPanicSource
from adapters.news.factory import build_news_service, build_news_sources
from adapters.news.rss import RssFeedSource
from adapters.news.service import NewsService
from config.settings import Settings
from tests.news.feed_server import atom_document, hours_ago, rss_document

RSS_ITEMS = [
    ("SEC approves spot Bitcoin ETF in landmark decision", "https://coinnews.example/btc-etf?utm_source=rss", 1),
    ("Ethereum developers schedule the next upgrade", "https://coinnews.example/eth-upgrade", 2),
    ("Exchange hacked: $200M drained in exploit", "https://coinnews.example/hack", 3),
]
ATOM_ITEMS = [
    ("SEC Approves Spot Bitcoin ETF in Landmark Decision!", "https://www.coinnews.example/btc-etf/", 0.5),
    ("Solana outage halts block production", "https://chaindaily.example/sol", 4),
    ("Bitcoin miners capitulate in a brutal sell-off", "https://chaindaily.example/miners", 30),  # too old
]


def serve_good_feeds(server) -> list[str]:
    server.routes["rss"] = (200, "application/rss+xml", rss_document([(t, u, hours_ago(h)) for t, u, h in RSS_ITEMS]))
    server.routes["atom"] = (
        200,
        "application/atom+xml",
        atom_document([(t, u, hours_ago(h)) for t, u, h in ATOM_ITEMS]),
    )
    return [server.feed_url("rss"), server.feed_url("atom")]


def service(client, urls, **kwargs) -> NewsService:
    timeout = kwargs.pop("source_timeout_s", 2.0)
    return NewsService([RssFeedSource(url, client, timeout) for url in urls], source_timeout_s=timeout, **kwargs)


async def test_headlines_when_rss_and_atom_served_then_deduplicated_matched_and_scored(feed_server, http_client):
    news = service(http_client, serve_good_feeds(feed_server))
    btc = await news.headlines("BTC/USDT")
    assert [item.title for item in btc] == ["SEC approves spot Bitcoin ETF in landmark decision"]
    assert btc[0].sentiment > 0.3 and btc[0].symbols == frozenset({"BTC"})
    assert btc[0].published_at.tzinfo is not None
    eth = await news.headlines("ETH/USDT:USDT")
    assert [item.title for item in eth] == ["Ethereum developers schedule the next upgrade"]
    everything = await news.items()
    assert len(everything) == 4  # one duplicate story and one 30h-old item removed
    hack = next(item for item in everything if "hacked" in item.title)
    assert hack.sentiment < -0.5
    assert [item.published_at for item in everything] == sorted((i.published_at for i in everything), reverse=True)


async def test_refresh_when_one_feed_broken_one_failing_one_hanging_then_cycle_completes_with_good_items(
    feed_server, http_client
):
    urls = serve_good_feeds(feed_server)
    feed_server.routes["garbage"] = (200, "text/html", "<html><body>Service Unavailable<p>oops")
    feed_server.routes["error"] = (500, "text/plain", "internal error")
    feed_server.routes["slow"] = "hang"
    bad = [feed_server.feed_url(path) for path in ("garbage", "error", "slow")]
    news = service(http_client, [*bad, *urls], source_timeout_s=1.0)
    started = time.perf_counter()
    items = await news.items()
    assert time.perf_counter() - started < 4.0  # the hanging feed cut off at its timeout
    assert len(items) == 4
    assert feed_server.hits["slow"] == 1


async def test_items_when_many_engines_ask_at_once_then_each_feed_fetched_once(feed_server, http_client):
    news = service(http_client, serve_good_feeds(feed_server))
    results = await asyncio.gather(*(news.headlines("BTC/USDT") for _ in range(50)))
    assert len({result for result in results}) == 1
    assert feed_server.hits["rss"] == 1 and feed_server.hits["atom"] == 1
    await news.headlines("ETH/USDT")
    assert news.refreshes == 1


async def test_items_when_ttl_expired_and_feed_died_then_stale_items_served(feed_server, http_client):
    news = service(http_client, serve_good_feeds(feed_server), ttl_s=0)
    first = await news.items()
    feed_server.routes["rss"] = (500, "text/plain", "down")
    second = await news.items()
    assert feed_server.hits["rss"] == 2
    assert {item.title for item in second} == {item.title for item in first}


async def test_items_when_ttl_not_expired_then_no_refetch(feed_server, http_client):
    news = service(http_client, serve_good_feeds(feed_server), ttl_s=600)
    await news.items()
    await news.items()
    assert feed_server.hits["rss"] == 1


async def test_items_when_max_age_short_then_older_items_dropped(feed_server, http_client):
    news = service(http_client, serve_good_feeds(feed_server), max_age=timedelta(hours=1.5))
    titles = {item.title for item in await news.items()}
    assert titles == {"SEC approves spot Bitcoin ETF in landmark decision"}


async def test_headlines_when_symbol_has_no_alias_then_matched_by_ticker(feed_server, http_client):
    feed_server.routes["rss"] = (
        200,
        "application/rss+xml",
        rss_document([("PEPE jumps 40% as memecoins rally", "https://x.example/p", hours_ago(1))]),
    )
    news = service(http_client, [feed_server.feed_url("rss")])
    assert [item.title for item in await news.headlines("PEPE/USDT")] == ["PEPE jumps 40% as memecoins rally"]
    assert await news.headlines("BTC/USDT") == ()


async def test_cryptopanic_when_token_set_then_posts_fetched_with_token_and_instruments(feed_server, http_client):
    posts = {
        "results": [
            {
                "id": 7,
                "title": "Bitcoin whales accumulate",
                "published_at": hours_ago(1).isoformat(),
                "source": {"domain": "whales.example"},
                "instruments": [{"code": "BTC"}],
            },
            {
                "id": 8,
                "title": "Market update",
                "published_at": hours_ago(2).isoformat(),
                "currencies": [{"code": "ETH"}],
                "url": "https://cryptopanic.com/news/8/",
            },
            {"id": 9, "title": ""},
        ]
    }
    feed_server.routes["api/developer/v2/posts/"] = (200, "application/json", json.dumps(posts))
    source = CryptoPanicSource("cp-secret-token", feed_server.feed_url("api/developer/v2"), http_client, 2.0)
    news = NewsService([source])
    btc = await news.headlines("BTC/USDT")
    eth = await news.headlines("ETH/USDT")
    assert [item.title for item in btc] == ["Bitcoin whales accumulate"]
    assert btc[0].source == "cryptopanic:whales.example" and btc[0].url == "https://cryptopanic.com/news/7/"
    assert [item.title for item in eth] == ["Market update"]
    assert feed_server.queries[-1]["auth_token"] == "cp-secret-token"
    assert "cp-secret-token" not in repr(source)


async def test_cryptopanic_when_answer_is_not_json_then_source_skipped(feed_server, http_client):
    feed_server.routes["v2/posts/"] = (200, "text/html", "<html>captcha</html>")
    urls = serve_good_feeds(feed_server)
    sources = [CryptoPanicSource("t", feed_server.feed_url("v2"), http_client), RssFeedSource(urls[0], http_client)]
    items = await NewsService(sources).items()
    assert len(items) == 3


async def test_build_news_sources_when_token_configured_then_cryptopanic_added(http_client):
    plain = build_news_sources(Settings(_env_file=None), http_client)
    assert len(plain) == 4 and all(isinstance(source, RssFeedSource) for source in plain)
    with_token = build_news_sources(Settings(_env_file=None, cryptopanic_token=SecretStr("tok")), http_client)
    assert isinstance(with_token[-1], CryptoPanicSource)
    service = build_news_service(Settings(_env_file=None, news_feeds=[]), http_client)
    assert await service.items() == ()

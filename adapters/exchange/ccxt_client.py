"""Build and configure a ccxt.async_support client: market type, testnet, timeouts, API URL override.

Kept apart from the adapter so the configuration rules (which options a given exchange needs to load only the
markets we trade, and to stay off private endpoints we never use) are in one small place.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
from ccxt.base.errors import NotSupported

from adapters.exchange.errors import ExchangeError
from domain.credentials import ExchangeCredentials
from domain.market import MarketType

URL_OVERRIDE_ENV = "QUORUM_EXCHANGE_URL_OVERRIDE"

# ccxt's market families for the two market types Quorum trades.
CCXT_DEFAULT_TYPE = {MarketType.SPOT: "spot", MarketType.PERPETUAL: "swap"}
MARKET_FETCH_TYPES = {MarketType.SPOT: ["spot"], MarketType.PERPETUAL: ["linear"]}


class UnknownExchange(ExchangeError):
    code = "unknown_exchange"


def check_exchange_id(exchange_id: str) -> str:
    """Normalise an exchange id, or raise UnknownExchange naming the closest ids CCXT knows."""
    normalised = exchange_id.strip().lower()
    if normalised in ccxt_async.exchanges:
        return normalised
    close = difflib.get_close_matches(normalised, ccxt_async.exchanges, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else " Examples: binance, bybit, okx, kraken."
    raise UnknownExchange(f"Unknown exchange '{exchange_id}': CCXT has no exchange with that id.{hint}")


def needs_passphrase(exchange_id: str) -> bool:
    """Whether the exchange's API keys come with a passphrase (OKX, KuCoin, Bitget ...): CCXT's password."""
    import ccxt  # the sync classes describe the same exchanges without an event loop

    exchange_class = getattr(ccxt, check_exchange_id(exchange_id))
    return bool(exchange_class().describe().get("requiredCredentials", {}).get("password"))


def build_ccxt_client(
    exchange_id: str,
    *,
    credentials: ExchangeCredentials | None = None,
    market_type: MarketType = MarketType.SPOT,
    testnet: bool = False,
    timeout_ms: int = 10_000,
    url_override: str | None = None,
    enable_rate_limit: bool = True,
    close_delay_ms: int | None = None,
    capabilities: Mapping[str, Any] | None = None,
) -> Any:
    """A configured ccxt async client. The caller owns it and must `await client.close()`.

    capabilities override entries of ccxt's `has` table (e.g. {"fetchClosedOrders": False}): for an account that
    cannot reach what the exchange class claims, or to run one exchange class as an exchange offering less.
    """
    exchange_id = check_exchange_id(exchange_id)
    config: dict[str, Any] = {
        "enableRateLimit": enable_rate_limit,
        "timeout": timeout_ms,
        "options": _options_for(exchange_id, market_type),
    }
    if exchange_id == "bybit":
        # ccxt's bybit ignores options.fetchCurrencies and reads the coin list from a wallet endpoint
        # (/v5/asset/coin/query-info) on every load_markets; a trading-only key need not reach it.
        config["has"] = {"fetchCurrencies": False}
    if capabilities:
        config["has"] = {**config.get("has", {}), **capabilities}
    if close_delay_ms is not None:
        config["timeout_on_exit"] = close_delay_ms  # ccxt waits this long on close() for TLS shutdown
    if credentials is not None:
        config["apiKey"] = credentials.api_key
        config["secret"] = credentials.secret
        if credentials.password:
            config["password"] = credentials.password
    client = getattr(ccxt_async, exchange_id)(config)
    if testnet:
        _enable_testnet(client, exchange_id, market_type)
    if url_override:
        rewrite_api_urls(client, url_override)
    return client


def market_features(client: Any, market_type: MarketType) -> dict[str, Any]:
    """ccxt's `features` table for the market type we trade (what each method takes, e.g. its page size cap)."""
    features = getattr(client, "features", None) or {}
    if market_type is MarketType.SPOT:
        return features.get("spot") or {}
    return (features.get("swap") or {}).get("linear") or {}


def _options_for(exchange_id: str, market_type: MarketType) -> dict[str, Any]:
    options: dict[str, Any] = {"defaultType": CCXT_DEFAULT_TYPE[market_type]}
    if market_type is MarketType.PERPETUAL:
        options["defaultSubType"] = "linear"
    if exchange_id in {"binance", "bybit"}:
        # Load only the market family we trade; never call the wallet/margin endpoints a trading key may not reach.
        options["fetchMarkets"] = {"types": MARKET_FETCH_TYPES[market_type]}
        options["fetchCurrencies"] = False
    if exchange_id == "binance":
        options["fetchMargins"] = False
        options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    return options


def _enable_testnet(client: Any, exchange_id: str, market_type: MarketType) -> None:
    """Binance retired its futures testnet in favour of demo trading; everything else uses ccxt's sandbox urls."""
    if exchange_id == "binance" and market_type is MarketType.PERPETUAL:
        client.enable_demo_trading(True)
        return
    no_testnet = ExchangeError(
        f"{exchange_id} has no testnet that CCXT can reach. Connect without testnet, or use paper mode."
    )
    if not client.urls.get("test"):
        raise no_testnet
    try:
        client.set_sandbox_mode(True)
    except NotSupported:
        raise no_testnet from None


def rewrite_api_urls(client: Any, base_url: str) -> None:
    """Point every REST API url of the client at base_url, keeping each url's path.

    Used to run the real ccxt exchange class against a local emulator or a proxy.
    """
    base = base_url.rstrip("/")

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            parts = urlsplit(value)
            return base + parts.path if parts.scheme in {"http", "https"} else value
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        return value

    client.urls["api"] = rewrite(client.urls["api"])

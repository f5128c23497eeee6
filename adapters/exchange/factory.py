"""Build the live exchange client the rest of the app uses, with retry and timeout settings from Settings.

CCXT (about a second to import) and the settings are imported when a client is built, so importing this module
stays cheap for the command line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from domain.market import MarketType

if TYPE_CHECKING:
    from adapters.exchange.ccxt_live import CcxtExchange
    from config.settings import Settings
    from domain.credentials import ExchangeCredentials


def create_live_exchange(
    exchange_id: str,
    credentials: ExchangeCredentials | None = None,
    *,
    market_type: MarketType = MarketType.SPOT,
    testnet: bool = False,
    settings: Settings | None = None,
    url_override: str | None = None,
) -> CcxtExchange:
    """A CcxtExchange for one account (or for public data when credentials is None).

    url_override (or the QUORUM_EXCHANGE_URL_OVERRIDE environment variable) sends every API call to another
    base URL, e.g. a local emulator or a proxy. The caller owns the client and must `await client.close()`.
    """
    from adapters.exchange.ccxt_client import URL_OVERRIDE_ENV, check_exchange_id
    from adapters.exchange.ccxt_live import CcxtExchange
    from adapters.exchange.retry import RetryPolicy
    from config.settings import get_settings

    settings = settings or get_settings()
    return CcxtExchange(
        check_exchange_id(exchange_id),
        credentials,
        market_type=market_type,
        testnet=testnet,
        retry_policy=RetryPolicy.from_settings(settings),
        timeout_ms=settings.exchange_timeout_ms,
        url_override=url_override or os.environ.get(URL_OVERRIDE_ENV) or None,
    )


def create_market_data(
    exchange_id: str, *, market_type: MarketType = MarketType.SPOT, settings: Settings | None = None
) -> CcxtExchange:
    """Public market data only (no keys): what paper trading on live prices reads."""
    return create_live_exchange(exchange_id, None, market_type=market_type, settings=settings)

"""The live exchange adapter: ExchangePort over ccxt.async_support, for spot and USDT perpetuals.

One instance = one exchange account (or none, for public market data) and one market type. Symbols are the
plain 'BASE/QUOTE' form for both types ('BTC/USDT'); ccxt's swap form 'BTC/USDT:USDT' is accepted too.

Reads and cancels retry transient failures with backoff. Orders never do so blindly: after an ambiguous
failure the order is looked up by its client order id and re-sent only when the exchange definitely does not
have it. When it cannot tell (it lists only open orders, say), the order comes back with status UNKNOWN and is
never re-sent: the caller records it as unknown and settles it later with fetch_order_by_client_id.
Every request goes through _request, which counts a failed one for /metrics by kind (quorum_exchange_errors_total).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from decimal import localcontext
from typing import Any

import ccxt
from loguru import logger

from adapters.exchange import ccxt_lookup as lookup
from adapters.exchange import ccxt_mapping as mapping
from adapters.exchange.ccxt_client import build_ccxt_client, market_features
from adapters.exchange.ccxt_errors import (
    AMBIGUOUS_ERRORS,
    TRANSIENT_ERRORS,
    error_kind,
    is_duplicate_order,
    to_domain_error,
)
from adapters.exchange.errors import (
    ExchangeError,
    InvalidOrder,
    InvalidSymbol,
    OrderStateUnknown,
    TransientExchangeError,
)
from adapters.exchange.order_rules import fit_to_market
from adapters.exchange.retry import RetryPolicy, Sleep, retry_transient
from domain.credentials import ExchangeCredentials, redact
from domain.market import Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker
from domain.money import datetime_to_ms, utc_now
from domain.trading import Balance, Order, OrderRequest, Position
from telemetry import METRICS

_QUERY_STRING = re.compile(r"\?\S*")  # signed query strings stay out of the logs
_BYBIT_LEVERAGE_UNCHANGED = "110043"  # retCode of "Set leverage not modified"
# A search for an order whose answer was lost starts this long before it was sent: the exchange's clock, which
# stamps the order, may run behind ours.
_CLOCK_SKEW_MS = 5 * 60_000


class CcxtExchange:
    """ExchangePort for any ccxt exchange id; Binance and Bybit are the first-class ones."""

    def __init__(
        self,
        exchange_id: str,
        credentials: ExchangeCredentials | None = None,
        *,
        market_type: MarketType = MarketType.SPOT,
        testnet: bool = False,
        retry_policy: RetryPolicy | None = None,
        timeout_ms: int = 10_000,
        url_override: str | None = None,
        enable_rate_limit: bool = True,
        close_delay_ms: int | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        capabilities: Mapping[str, Any] | None = None,
        lookup_limits: lookup.LookupLimits | None = None,
    ) -> None:
        """capabilities override ccxt's `has` table (see build_ccxt_client); lookup_limits bound a search by
        client order id on exchanges that can only list orders."""
        self._client = build_ccxt_client(
            exchange_id,
            credentials=credentials,
            market_type=market_type,
            testnet=testnet,
            timeout_ms=timeout_ms,
            url_override=url_override,
            enable_rate_limit=enable_rate_limit,
            close_delay_ms=close_delay_ms,
            capabilities=capabilities,
        )
        self.exchange_id: str = self._client.id
        self.market_type = market_type
        self.testnet = testnet
        self.authenticated = credentials is not None
        self._secrets = credentials.secrets() if credentials else ()
        self._policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lookup_limits = lookup_limits or lookup.LookupLimits()
        self._markets: dict[str, MarketInfo] | None = None
        self._ccxt_symbols: dict[str, str] = {}
        self._markets_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (
            f"CcxtExchange(exchange_id={self.exchange_id!r}, market_type={self.market_type.value!r}, "
            f"testnet={self.testnet}, authenticated={self.authenticated})"
        )

    # --- plumbing ---
    async def _retrying(self, method: str, *args: Any) -> Any:
        """Call a ccxt method, retrying transient errors; ccxt errors propagate untranslated."""
        function = getattr(self._client, method)
        return await retry_transient(
            lambda: self._request(function, *args),
            self._policy,
            retry_on=TRANSIENT_ERRORS,
            description=f"{self.exchange_id} {method}",
            retry_after=self._retry_after,
            sleep=self._sleep,
            rng=self._rng,
        )

    async def _request(self, function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One request to the exchange; a failed one is counted for /metrics by kind, then raised as it is."""
        try:
            return await _isolated(function, *args)
        except ccxt.BaseError as error:
            METRICS.exchange_error(self.exchange_id, error_kind(error, self.exchange_id))
            raise

    async def _call(self, action: str, method: str, *args: Any) -> Any:
        """Like _retrying, but any failure becomes a domain error whose message describes `action`."""
        try:
            return await self._retrying(method, *args)
        except ccxt.BaseError as error:
            raise self._domain_error(error, action) from None

    def _domain_error(self, error: BaseException, action: str) -> Exception:
        domain = to_domain_error(error, self.exchange_id, action, self._secrets)
        logger.info("{} {} failed: {}", self.exchange_id, action, self._detail(error))
        return domain

    def _detail(self, error: BaseException) -> str:
        """An error for the logs: no credential, no signed query string."""
        return _QUERY_STRING.sub("?<query>", redact(str(error), self._secrets))[:500]

    def _retry_after(self, error: BaseException) -> float | None:
        """The server's Retry-After hint (seconds) after a 429 / 418, if it sent one."""
        if not isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
            return None
        headers = getattr(self._client, "last_response_headers", None) or {}
        value = next((value for name, value in headers.items() if name.lower() == "retry-after"), None)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _ccxt_symbol(self, symbol: str) -> str:
        try:
            return self._ccxt_symbols[mapping.domain_symbol(symbol)]
        except KeyError:
            raise InvalidSymbol(
                f"{self.exchange_id.capitalize()} has no {self.market_type.value} market {symbol}. "
                "Check the symbol, e.g. BTC/USDT."
            ) from None

    # --- market data ---
    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        async with self._markets_lock:
            if self._markets is not None and not reload:
                return self._markets
            raw = await self._call("load the markets", "load_markets", reload)
            markets: dict[str, MarketInfo] = {}
            symbols: dict[str, str] = {}
            for ccxt_symbol, market in raw.items():
                if not mapping.wanted(market, self.market_type):
                    continue
                info = mapping.market_info(market, self.market_type, self._client.precisionMode, self.exchange_id)
                markets[info.symbol] = info
                symbols[info.symbol] = ccxt_symbol
            self._markets, self._ccxt_symbols = markets, symbols
            return markets

    async def market(self, symbol: str) -> MarketInfo:
        markets = await self.load_markets()
        self._ccxt_symbol(symbol)
        return markets[mapping.domain_symbol(symbol)]

    async def fetch_ticker(self, symbol: str) -> Ticker:
        info = await self.market(symbol)
        raw = await self._call(f"read the {info.symbol} price", "fetch_ticker", self._ccxt_symbol(symbol))
        result = mapping.ticker(raw, info.symbol)
        if result.bid is None or result.ask is None:
            # Some endpoints (binance USDT-M 24h ticker) carry no bid/ask; the top of the book does.
            book = await self.fetch_order_book(symbol, limit=5)
            if book.bids and book.asks:
                result = replace(result, bid=book.bids[0].price, ask=book.asks[0].price)
        return result

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        info = await self.market(symbol)
        timeframes = self._client.timeframes or {}
        if timeframes and timeframe not in timeframes:
            raise ExchangeError(
                f"{self.exchange_id.capitalize()} has no {timeframe} candles; use one of {', '.join(timeframes)}."
            )
        rows = await self._call(
            f"read {info.symbol} {timeframe} candles", "fetch_ohlcv", self._ccxt_symbol(symbol), timeframe, since, limit
        )
        return mapping.candles(rows)

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        info = await self.market(symbol)
        raw = await self._call(
            f"read the {info.symbol} order book", "fetch_order_book", self._ccxt_symbol(symbol), limit
        )
        return mapping.order_book(raw, info.symbol, limit)

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        info = await self.market(symbol)
        if info.type is not MarketType.PERPETUAL:
            raise InvalidSymbol(f"{info.symbol} is a spot market; funding rates exist only for perpetuals.")
        raw = await self._call(f"read the {info.symbol} funding rate", "fetch_funding_rate", self._ccxt_symbol(symbol))
        return mapping.funding_rate(raw, info.symbol)

    async def close(self) -> None:
        await _isolated(self._client.close)

    # --- account ---
    async def fetch_balance(self) -> Balance:
        return mapping.balance(await self._call("read the balance", "fetch_balance"))

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]:
        if self.market_type is MarketType.SPOT:
            return []
        await self.load_markets()
        ccxt_symbols = [self._ccxt_symbol(symbol) for symbol in symbols] if symbols else None
        raw = await self._call("read open positions", "fetch_positions", ccxt_symbols)
        positions = (mapping.position(entry) for entry in raw)
        return [position for position in positions if position is not None]

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        info = await self.market(symbol)
        if info.type is not MarketType.PERPETUAL:
            raise InvalidOrder(f"{info.symbol} is a spot market; leverage applies only to perpetuals.")
        if not 1 <= leverage <= info.max_leverage:
            raise InvalidOrder(f"Leverage must be between 1 and {info.max_leverage} for {info.symbol}; got {leverage}.")
        action = f"set {leverage}x leverage on {info.symbol}"
        try:
            await self._retrying("set_leverage", leverage, self._ccxt_symbol(symbol))
        except ccxt.BaseError as error:
            if self.exchange_id == "bybit" and _BYBIT_LEVERAGE_UNCHANGED in str(error):
                return  # Bybit refuses to "set" the leverage a symbol already has: that is success
            raise self._domain_error(error, action) from None

    # --- orders ---
    async def create_order(self, request: OrderRequest) -> Order:
        """Place the order; after a lost answer look it up, and send it again only if it is definitely absent.

        Returns status UNKNOWN (no exchange id) when the order may exist but the exchange cannot show it or cannot
        be asked; raises TransientExchangeError only when nothing was placed.
        """
        info = await self.market(request.symbol)
        reference = request.price or request.stop_price
        if reference is None:
            reference = (await self.fetch_ticker(request.symbol)).last
        fitted = fit_to_market(request, info, reference)
        action = f"place the {fitted.side.value} order for {fitted.amount} {info.base}"
        # A caller retrying after a crash may repeat a client id whose order already exists (Binance only
        # rejects duplicates of *open* orders): look first, so one client id never yields two orders. "Cannot
        # tell" does not hold the order back: this call has sent nothing yet, and where only open orders are
        # listed every new id is "cannot tell".
        existing = await self._search(fitted.client_order_id, fitted.symbol)
        if existing.order is not None:
            return await self._answered(existing.order, fitted, info.symbol)
        since = datetime_to_ms(utc_now()) - _CLOCK_SKEW_MS
        attempt = 0
        while True:
            try:
                raw = await self._send_order(fitted)
            except AMBIGUOUS_ERRORS as error:
                logger.warning(
                    "{} create_order {} ambiguous ({}); looking it up before any resend",
                    self.exchange_id,
                    fitted.client_order_id,
                    type(error).__name__,
                )
                await self._sleep(max(self._policy.delay(attempt, self._rng), self._retry_after(error) or 0))
                settled = await self._after_lost_answer(fitted, info.symbol, since)
                if settled is not None:
                    return settled
                if attempt >= self._policy.max_retries:
                    raise TransientExchangeError(
                        f"{self.exchange_id.capitalize()} did not confirm order {fitted.client_order_id} and has no "
                        "order with that id: nothing was placed. Quorum will try again later."
                    ) from None
                attempt += 1
                continue
            except ccxt.BaseError as error:
                if is_duplicate_order(error):  # the exchange has an order with this id, whenever it was placed
                    settled = await self._after_lost_answer(fitted, info.symbol, None)
                    if settled is not None:
                        return settled
                raise self._domain_error(error, action) from None
            return await self._placed_order(raw, fitted, info.symbol)

    async def _after_lost_answer(self, request: OrderRequest, symbol: str, since: int | None) -> Order | None:
        """The order sent without an answer: as the exchange has it, None when it definitely has none (safe to
        send again), or an UNKNOWN order when the exchange cannot tell or cannot be asked now: never re-sent."""
        try:
            result = await self._search(request.client_order_id, request.symbol, since)
        except ExchangeError as error:
            return self._unknown_order(request, symbol, "", str(error))
        if result.order is not None:
            return await self._answered(result.order, request, symbol)
        if result.verdict is lookup.Verdict.ABSENT:
            return None
        return self._unknown_order(request, symbol, "", result.reason)

    def _unknown_order(self, request: OrderRequest, symbol: str, order_id: str, reason: str) -> Order:
        logger.warning(
            "{} order {} may exist but cannot be read ({}): reported as unknown, not sent again",
            self.exchange_id,
            request.client_order_id,
            reason,
        )
        return mapping.unknown_order(request, symbol, order_id)

    async def _send_order(self, request: OrderRequest) -> dict[str, Any]:
        arguments = mapping.create_order_arguments(request, self.market_type)
        return await self._request(self._client.create_order, self._ccxt_symbol(request.symbol), *arguments)

    async def _placed_order(self, raw: dict[str, Any], request: OrderRequest, symbol: str) -> Order:
        """Some exchanges acknowledge with an id only; then the order is read back in full.

        The order exists by then: if it cannot be read back it is UNKNOWN (with its id), not an error that would
        invite the caller to place it again.
        """
        if raw.get("side") is None or raw.get("amount") is None:
            try:
                raw = await self._call(
                    "read the new order",
                    "fetch_order",
                    str(raw["id"]),
                    self._ccxt_symbol(request.symbol),
                    self._fetch_order_params({}),
                )
            except ExchangeError as error:
                return self._unknown_order(request, symbol, str(raw["id"]), str(error))
        return await self._answered(raw, request, symbol)

    async def _answered(self, raw: dict[str, Any], request: OrderRequest, symbol: str) -> Order:
        """create_order's result: the order with its fills, or UNKNOWN (with its id) when it filled and its fills
        cannot be read now, so the caller settles it later instead of booking a fill without price and fee."""
        try:
            return await self._order(raw, symbol, request.client_order_id, strict=True)
        except lookup.FillsUnreadable as error:
            return self._unknown_order(request, symbol, str(raw.get("id") or ""), str(error))

    async def cancel_order(self, order_id: str, symbol: str) -> Order:
        info = await self.market(symbol)
        action = f"cancel order {order_id}"
        ccxt_id, params = mapping.order_reference(order_id)
        try:
            raw = await self._retrying("cancel_order", ccxt_id, self._ccxt_symbol(symbol), params)
        except (ccxt.OrderNotFound, ccxt.OperationRejected, ccxt.InvalidOrder) as error:
            # A retried cancel whose first attempt went through finds the order already closed: that is success.
            current = await self.fetch_order(order_id, symbol)
            if current.status.is_final:
                return current
            raise self._domain_error(error, action) from None
        except ccxt.BaseError as error:
            raise self._domain_error(error, action) from None
        if raw.get("side") is None or raw.get("amount") is None:
            return await self.fetch_order(order_id, symbol)
        return await self._order(raw, info.symbol)

    async def fetch_order(self, order_id: str, symbol: str) -> Order:
        info = await self.market(symbol)
        ccxt_id, params = mapping.order_reference(order_id)
        params = self._fetch_order_params(params)
        raw = await self._call(f"read order {order_id}", "fetch_order", ccxt_id, self._ccxt_symbol(symbol), params)
        return await self._order(raw, info.symbol)

    def _fetch_order_params(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.exchange_id == "bybit":
            params["acknowledged"] = True  # ccxt's bybit asks callers to accept that only recent orders are found
        return params

    def _lookup_context(self) -> lookup.LookupContext:
        return lookup.LookupContext(
            self.exchange_id,
            self.market_type,
            self._client.has,
            self._retrying,
            features=market_features(self._client, self.market_type),
            limits=self._lookup_limits,
            order_params=self._fetch_order_params({}),
        )

    async def _search(self, client_order_id: str, symbol: str, since: int | None = None) -> lookup.LookupResult:
        try:
            return await lookup.order_by_client_id(
                self._lookup_context(), client_order_id, self._ccxt_symbol(symbol), since
            )
        except ccxt.BaseError as error:
            raise self._domain_error(error, f"look up order {client_order_id}") from None

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order | None:
        """None only when the exchange definitely has no such order; OrderStateUnknown when it cannot tell."""
        info = await self.market(symbol)
        result = await self._search(client_order_id, symbol)
        if result.verdict is lookup.Verdict.UNKNOWN:
            name = self.exchange_id.capitalize()
            raise OrderStateUnknown(
                f"{name} cannot tell whether order {client_order_id} exists: {result.reason}. Do not place it "
                f"again; Quorum will ask later, or check it on {name}.",
                client_order_id,
            )
        if result.order is None:
            return None
        try:
            return await self._order(result.order, info.symbol, client_order_id, strict=True)
        except lookup.FillsUnreadable as error:
            raise OrderStateUnknown(
                f"Order {client_order_id} filled, but {error}; Quorum will read it again.", client_order_id
            ) from None

    async def _order(self, raw: dict[str, Any], symbol: str, client_order_id: str = "", strict: bool = False) -> Order:
        """The domain order; one reported filled without its fills gets them from the exchange's trade history
        (strict: lookup.FillsUnreadable when they cannot be read now)."""
        order = mapping.order(raw, symbol, client_order_id)
        context, ccxt_symbol = self._lookup_context(), self._ccxt_symbol(symbol)
        return await lookup.with_trades(context, order, ccxt_symbol, raw.get("timestamp"), self._detail, strict)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        await self.load_markets()
        ccxt_symbol = self._ccxt_symbol(symbol) if symbol else None
        raw = await self._call("read open orders", "fetch_open_orders", ccxt_symbol)
        if self.exchange_id == "binance" and self.market_type is MarketType.PERPETUAL:
            raw = raw + await self._call(
                "read open stop orders", "fetch_open_orders", ccxt_symbol, None, None, {"trigger": True}
            )
        return [mapping.order(entry, mapping.domain_symbol(entry["symbol"])) for entry in raw]


async def _isolated(function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run a ccxt coroutine in a private decimal context.

    ccxt's decimal_to_precision sets the context's rounding to ROUND_HALF_UP and traps Underflow; without this,
    that would leak into every Decimal computation of the process (paper fills, risk sizing, messages).
    """
    with localcontext():
        return await function(*args)

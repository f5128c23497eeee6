"""Domain errors of the exchange port. Each carries a message a user can read as-is."""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every exchange-port error; str(error) is the sentence shown to the user."""

    code = "exchange_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.user_message = message


class TransientExchangeError(ExchangeError):
    """Network trouble, timeouts, rate limits, maintenance: safe to retry (orders only after a lookup)."""

    code = "exchange_unavailable"


class InsufficientFunds(ExchangeError):
    code = "insufficient_funds"


class InvalidSymbol(ExchangeError):
    code = "invalid_symbol"


class InvalidOrder(ExchangeError):
    """Amount, price or notional outside what the market allows."""

    code = "invalid_order"


class OrderNotFound(ExchangeError):
    code = "order_not_found"


class AuthenticationFailed(ExchangeError):
    code = "bad_api_key"


class PermissionDenied(ExchangeError):
    """Key lacks a permission, or the request came from an IP not on the key's allow list."""

    code = "permission_denied"


class OrderStateUnknown(ExchangeError):
    """The exchange cannot tell whether an order with this client id exists: through CCXT it lists only some of
    its orders (often open ones only), or more of them than one search reads.

    Not an absence: never place the order again on it. Keep it as unknown and ask again later (reconcile).
    """

    code = "order_state_unknown"

    def __init__(self, message: str, client_order_id: str) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id

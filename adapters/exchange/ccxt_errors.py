"""Translate ccxt's error tree into the exchange port's domain errors, each with a sentence a user understands.

ccxt messages carry the request URL and raw response body; neither reaches the user. Only the exchange's own
short reason (its "msg" field) is quoted, with every credential redacted from it.
"""

from __future__ import annotations

import re

import ccxt

from adapters.exchange import errors
from domain.credentials import redact

# The request may have reached the exchange and taken effect: an order must be looked up before any resend.
AMBIGUOUS_ERRORS: tuple[type[BaseException], ...] = (ccxt.NetworkError, ccxt.BadResponse)
# Safe to repeat as-is for reads and cancels. The ExchangeError subtree never is.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ccxt.NetworkError,)

_REASON = re.compile(r'"(?:msg|message|retMsg|error_description|error)"\s*:\s*"([^"]{1,200})"')
_INSUFFICIENT = ("insufficient", "not enough balance", "margin is insufficient")
_IP_DENIED = ("request ip", "ip not", "not white listed", "ip cannot access", "ip address")
_DUPLICATE = ("duplicate", "duplicated")


def exchange_reason(error: BaseException, exchange_id: str, secrets: tuple[str, ...] = ()) -> str:
    """The exchange's own short explanation from a ccxt error, or '' when it gave none.

    ccxt words these as '<id> {"code":..,"msg":".."}' or '<id> <msg>'; anything carrying a URL is not a reason.
    """
    text = str(error)
    match = _REASON.search(text)
    if match:
        reason = match.group(1)
    else:
        reason = text.removeprefix(exchange_id).strip() if text.startswith(exchange_id + " ") else ""
        if "http" in reason or "{" in reason or len(reason) > 200:
            reason = ""
    return redact(reason, secrets)


def is_duplicate_order(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, ccxt.DuplicateOrderId) or any(word in text for word in _DUPLICATE)


def error_kind(error: BaseException, exchange_id: str) -> str:
    """A short, bounded name for a failed request, for /metrics (quorum_exchange_errors_total{kind}): transient
    failures by cause, the others by their domain error's code (insufficient_funds, invalid_order, ...)."""
    if isinstance(error, ccxt.OnMaintenance):
        return "maintenance"
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return "rate_limited"
    if isinstance(error, ccxt.RequestTimeout):
        return "timeout"
    if isinstance(error, ccxt.ExchangeNotAvailable):
        return "unavailable"
    if isinstance(error, ccxt.NetworkError):
        return "network"
    if isinstance(error, ccxt.BadResponse):
        return "bad_response"
    return to_domain_error(error, exchange_id, "answer").code


def to_domain_error(
    error: BaseException, exchange_id: str, action: str, secrets: tuple[str, ...] = ()
) -> errors.ExchangeError:
    """The domain error for a ccxt error raised while doing `action` (e.g. 'place the order')."""
    name = exchange_id.capitalize()
    reason = exchange_reason(error, exchange_id, secrets)
    detail = f" ({name} said: {reason})" if reason else ""
    text = str(error).lower()

    if isinstance(error, ccxt.InsufficientFunds) or (
        isinstance(error, ccxt.ExchangeError) and any(word in text for word in _INSUFFICIENT)
    ):
        return errors.InsufficientFunds(
            f"Not enough funds on {name} to {action}. Add funds or lower the pair budget.{detail}"
        )
    if isinstance(error, ccxt.BadSymbol):
        return errors.InvalidSymbol(f"{name} does not list that trading pair. Check the symbol, e.g. BTC/USDT.")
    if isinstance(error, ccxt.AuthenticationError):
        if isinstance(error, ccxt.PermissionDenied) or any(word in text for word in _IP_DENIED):
            return errors.PermissionDenied(
                f"{name} refused to {action}: this server's IP address is not on the API key's allow list, "
                f"or the key lacks the permission for it. Add the IP or enable the permission on {name}.{detail}"
            )
        return errors.AuthenticationFailed(
            f"{name} rejected the API key or secret. Check both, or create a new key and /connect again.{detail}"
        )
    if isinstance(error, ccxt.OrderNotFound):
        return errors.OrderNotFound(f"{name} has no such order; it may have been filled or cancelled already.")
    if isinstance(error, ccxt.InvalidOrder):
        return errors.InvalidOrder(
            f"{name} rejected the order: its amount, price or size is outside what the market allows.{detail}"
        )
    if isinstance(error, ccxt.NetworkError | ccxt.BadResponse):
        return errors.TransientExchangeError(_transient_sentence(error, name, action))
    if isinstance(error, ccxt.NotSupported):
        return errors.ExchangeError(f"{name} does not support this through CCXT: cannot {action}.")
    return errors.ExchangeError(f"{name} refused to {action}.{detail or ' It gave no reason.'}")


def _transient_sentence(error: BaseException, name: str, action: str) -> str:
    if isinstance(error, ccxt.OnMaintenance):
        return f"{name} is under maintenance, so Quorum could not {action}. It will try again later."
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return f"{name} is limiting how fast Quorum may call it, so it could not {action}. It will try again shortly."
    if isinstance(error, ccxt.RequestTimeout):
        return f"{name} did not answer in time, so Quorum could not {action}. It will try again shortly."
    return f"{name} cannot be reached right now, so Quorum could not {action}. It will try again shortly."

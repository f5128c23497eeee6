"""Reading what people type: amounts, leverage, modes, names, API keys, exchange ids and symbols.

Every transport hands over the raw argument (text, or a number from a button); the checks and their words are
here once, so a Telegram reply and a console reply read the same. A refusal quotes at most a short, one-line
excerpt of the argument, never a secret.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal

from domain.credentials import ExchangeCredentials
from domain.market import MarketInfo, MarketType
from domain.money import to_decimal
from engine.service_errors import InvalidInput, UnknownExchange, UnknownSymbol

MAX_DECIMALS = 8
MAX_AMOUNT = Decimal(10) ** 12
MAX_NAME = 64
MAX_SECRET = 256
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}([/\-_:][A-Z0-9]{1,20}){0,2}$")
_SEPARATORS = re.compile(r"[\-_ ]")


def shown(raw: object, limit: int = 24) -> str:
    """A short one-line excerpt of what the user sent, for a refusal."""
    text = " ".join(str(raw).split())
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_amount(raw: object, what: str, unit: str) -> Decimal:
    """A positive, finite, exact amount with at most 8 decimal places and below 10^12."""
    example = f"{what} must be a plain number of {unit}, like 1000 or 250.50 (got {shown(raw)})."
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(example)
    text = raw.strip() if isinstance(raw, str) else raw
    if isinstance(text, str) and (len(text) > 40 or not re.fullmatch(r"[+-]?[0-9.eE+-]+", text)):
        raise InvalidInput(example)
    try:
        value = to_decimal(text)
    except ValueError:
        raise InvalidInput(example) from None
    if not value.is_finite():
        raise InvalidInput(example)
    if value <= 0:
        raise InvalidInput(f"{what} must be more than 0 {unit} (got {shown(raw)}).")
    if value >= MAX_AMOUNT:
        raise InvalidInput(f"{what} of {shown(raw)} {unit} is too large: it must be below {MAX_AMOUNT:,} {unit}.")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_DECIMALS:
        rounded = value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
        if rounded != value:
            raise InvalidInput(f"{what} can have at most {MAX_DECIMALS} decimal places (got {shown(raw)}).")
        return rounded
    return value.quantize(Decimal(1)) if exponent > 0 else value


def parse_leverage(raw: object, highest: int) -> int:
    """A whole number from 1 to `highest`; '3x' reads as 3."""
    return parse_whole(raw, 1, highest, f"Leverage must be a whole number from 1 to {highest} (got {shown(raw)}).")


def parse_whole(raw: object, low: int, high: int, refusal: str) -> int:
    """A whole number in [low, high] from an int, an integral number or text ('3', '3x'); else `refusal`."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(refusal)
    if isinstance(raw, str):
        text = raw.strip().lower().removesuffix("x")
        if not text.isdigit() or len(text) > 9:
            raise InvalidInput(refusal)
        value = int(text)
    elif isinstance(raw, int):
        value = raw
    else:
        try:
            number = to_decimal(raw)
        except ValueError:
            raise InvalidInput(refusal) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise InvalidInput(refusal)
        value = int(number)
    if not low <= value <= high:
        raise InvalidInput(refusal)
    return value


def parse_choice(raw: object, choices: tuple[str, ...], what: str) -> str:
    text = str(raw).strip().lower() if isinstance(raw, str) else raw
    if text not in choices:
        raise InvalidInput(f"{what} must be {' or '.join(choices)} (got {shown(raw)}).")
    return str(text)


def parse_market_type(raw: object | None, default: MarketType) -> MarketType:
    if raw is None:
        return default
    if isinstance(raw, MarketType):
        return raw
    aliases = {"spot": MarketType.SPOT, "perpetual": MarketType.PERPETUAL, "perp": MarketType.PERPETUAL,
               "futures": MarketType.PERPETUAL, "swap": MarketType.PERPETUAL}  # fmt: skip
    found = aliases.get(str(raw).strip().lower())
    if found is None:
        raise InvalidInput(f"The market type must be spot or perpetual (got {shown(raw)}).")
    return found


def clean_name(raw: str | None) -> str | None:
    """A display name without control characters or runs of spaces, at most 64 characters; None if empty."""
    if raw is None:
        return None
    text = " ".join("".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").split())
    return text[:MAX_NAME] or None


def parse_credentials(api_key: object, secret: object, password: object | None = None) -> ExchangeCredentials:
    """Key, secret and passphrase as sent; the refusals never quote them."""
    parts = {"API key": api_key, "API secret": secret}
    if password is not None:
        parts["passphrase"] = password
    for label, value in parts.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"The {label} is missing. Send /connect <exchange> <key> <secret>.")
        if len(value.strip()) > MAX_SECRET or any(ch.isspace() or not ch.isprintable() for ch in value.strip()):
            raise InvalidInput(
                f"That {label} does not look right: it must be one word of at most {MAX_SECRET} printable "
                "characters. Copy it again from the exchange's API page."
            )
    return ExchangeCredentials(
        str(api_key).strip(), str(secret).strip(), str(password).strip() if password is not None else None
    )


def exchange_id(raw: object) -> str:
    """A CCXT exchange id, or a refusal naming the closest ids CCXT knows."""
    from adapters.exchange.ccxt_client import UnknownExchange as CcxtUnknownExchange
    from adapters.exchange.ccxt_client import check_exchange_id  # imports CCXT: only when an id is checked

    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise UnknownExchange(f"Unknown exchange {shown(raw)!r}. Examples: binance, bybit, okx, kraken.")
    try:
        return check_exchange_id(raw)
    except CcxtUnknownExchange as exc:
        raise UnknownExchange(str(exc)) from None


def check_passphrase(exchange: str, password: object | None) -> None:
    """A passphrase exactly when the exchange's keys have one (never echoed: it is a secret)."""
    from adapters.exchange.ccxt_client import needs_passphrase

    given = isinstance(password, str) and bool(password.strip())
    if needs_passphrase(exchange) and not given:
        raise InvalidInput(
            f"{exchange} API keys come with a passphrase: send /connect {exchange} <key> <secret> <passphrase>. "
            "Nothing was stored."
        )
    if given and not needs_passphrase(exchange):
        raise InvalidInput(
            f"{exchange} API keys have no passphrase: after the secret write only testnet and spot or perpetual. "
            "Nothing was stored."
        )


def symbol_text(raw: object) -> str:
    """The symbol as typed, in capitals with '/' between base and quote where a separator was typed."""
    if not isinstance(raw, str):
        raise InvalidInput(f"{shown(raw)} is not a symbol: write it like BTC/USDT.")
    text = _SEPARATORS.sub("/", raw.strip().upper())
    if not _SYMBOL.match(text):
        raise InvalidInput(f"{shown(raw)} is not a symbol: write it like BTC/USDT.")
    return text.split(":", 1)[0]  # ccxt's perpetual form BTC/USDT:USDT names the same pair


def resolve_symbol(raw: object, markets: Mapping[str, MarketInfo], exchange: str) -> MarketInfo:
    """The market for 'btc/usdt', 'BTCUSDT', 'BTC-USDT' or 'BTC/USDT:USDT', or a refusal with suggestions."""
    text = symbol_text(raw)
    found = match_symbol(text, markets)
    if found is not None:
        return markets[found]
    close = suggest(text, list(markets))
    hint = f" Did you mean {close}?" if close else f" Examples: {', '.join(sorted(markets)[:3])}."
    raise UnknownSymbol(f"Unknown symbol {text} on {exchange}.{hint}")


def suggest(text: str, names: list[str]) -> str | None:
    """The closest symbol: among those with the same base (BTC/USDX -> BTC/USDT), else the same quote."""
    base, _, quote = text.partition("/")
    if not quote:  # BTCUSDX: compare the compact forms
        compact = {name.replace("/", ""): name for name in names}
        best = difflib.get_close_matches(text, list(compact), n=1, cutoff=0.6)
        return compact[best[0]] if best else None
    pool = [n for n in names if n.partition("/")[0] == base] or [n for n in names if n.partition("/")[2] == quote]
    best = difflib.get_close_matches(text, pool or names, n=1, cutoff=0.6)
    return best[0] if best else None


def match_symbol(text: str, symbols: Mapping[str, object] | list[str]) -> str | None:
    """The symbol among `symbols` that `text` (see symbol_text) names, with or without its separator."""
    names = list(symbols)
    if text in names:
        return text
    compact = text.replace("/", "")
    return next((name for name in names if name.replace("/", "") == compact), None)

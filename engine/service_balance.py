"""An account's balance as the service sees it: a paper account's stored ledger, or a live account read through
the gateway with its decrypted keys.

A live read is network I/O, so it happens after the database transaction that decrypted the keys: `source()`
returns the balance itself (paper) or the access to read (live), and `read()` finishes the job.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchange.errors import AuthenticationFailed, ExchangeError, PermissionDenied, TransientExchangeError
from adapters.exchange.paper import Ledger
from db.encryption import DecryptionFailed, MasterKeyMissing
from db.models import ExchangeAccount
from db.repositories import AccountRepository, PaperLedgerRepository
from domain.credentials import redact
from domain.market import MarketType
from domain.trading import Balance, CurrencyBalance
from engine.service_context import ServiceContext
from engine.service_errors import CredentialsRejected, ExchangeUnavailable, MasterKeyRequired
from engine.service_gateway import LiveAccess

PAPER_CURRENCY = "USDT"  # a paper account starts with its balance in USDT (as the engine opens it)


async def source(
    ctx: ServiceContext, session: AsyncSession, account: ExchangeAccount, mode: str = "paper"
) -> Balance | LiveAccess:
    """What the engines trade with: a paper account's ledger, a live account's ledger in paper mode (the engines
    trade it on paper, from PAPER_START_BALANCE), or the live account itself in live mode."""
    if account.is_paper or mode != "live":
        state = await PaperLedgerRepository(session).load(account.user_id, account.id)
        if state is not None:
            return Ledger.from_state(state["ledger"]).balance(ctx.now_ms())
        start = account.paper_start_balance if account.is_paper else ctx.settings.paper_start_balance
        start = start or Decimal(0)
        return Balance({PAPER_CURRENCY: CurrencyBalance(PAPER_CURRENCY, start, Decimal(0))}, ctx.now_ms())
    if ctx.box is None:
        raise MasterKeyRequired(str(MasterKeyMissing()))
    try:
        credentials = await AccountRepository(session, ctx.box).credentials(account.user_id, account.id)
    except DecryptionFailed:
        credentials = None
    if credentials is None:
        raise CredentialsRejected(
            f"Your stored {account.exchange} keys cannot be read (the server's encryption key changed). "
            "Send /disconnect, then /connect again with your keys."
        )
    return LiveAccess(account.exchange, credentials, MarketType(account.market_type), account.testnet)


async def read(ctx: ServiceContext, found: Balance | LiveAccess) -> Balance:
    """The balance; for a live account one read-only call, with the exchange's refusal in plain words."""
    if isinstance(found, Balance):
        return found
    name = found.exchange
    try:
        return await ctx.gateway.balance(found)
    except (AuthenticationFailed, PermissionDenied) as exc:
        raise CredentialsRejected(
            f"{name} refused the API key: {_reason(exc, found)} Check the key, the secret and the key's IP "
            "allow-list and permissions (reading is enough to connect), then /connect again."
        ) from None
    except TransientExchangeError as exc:
        raise ExchangeUnavailable(
            f"{name} did not answer: {_reason(exc, found)} Nothing was saved; try again in a minute."
        ) from None
    except ExchangeError as exc:
        raise ExchangeUnavailable(f"{name} could not be read: {_reason(exc, found)} Nothing was saved.") from None


def _reason(error: Exception, access: LiveAccess) -> str:
    """The exchange's words (adapters' errors are user-facing), with any echo of the keys masked."""
    text = redact(str(error), access.credentials.secrets()).strip() or type(error).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def totals(balance: Balance, limit: int = 10) -> tuple[tuple[str, Decimal], ...]:
    """(currency, total) of every currency held, largest first (by amount, so only a rough order), at most limit."""
    held = [(c.currency, c.total) for c in balance.currencies.values() if c.total != 0]
    return tuple(sorted(held, key=lambda item: (-item[1], item[0]))[:limit])

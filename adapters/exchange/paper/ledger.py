"""Balances of one paper account in Decimal: a wallet total per currency and named reservations against it.

free = total - used, where used is the sum of the reservations (open orders, position margin) in that currency.
Every debit and reservation is checked against free first, so free can never go negative. A position's margin
reservation is its isolated wallet: funding paid beyond it leaves it negative instead of touching free.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange.errors import InsufficientFunds
from domain.trading import Balance, CurrencyBalance

from .exact import exact
from .formatting import amount_text

ZERO = Decimal(0)


class Ledger:
    def __init__(self, totals: dict[str, Decimal] | None = None) -> None:
        self._totals: dict[str, Decimal] = {}
        self._reservations: dict[str, tuple[str, Decimal]] = {}
        self.checked = True  # False while a multi-step fill is tried out; see shortfall()
        self.revision = 0  # bumped by every change of a total or a reservation (all of them are made here)
        self._figures: tuple[int, dict[str, CurrencyBalance]] | None = None  # (revision, figures) of balance()
        for currency, amount in (totals or {}).items():
            if amount < 0:
                raise ValueError(f"a starting balance cannot be negative ({currency} {amount})")
            self._totals[currency] = amount

    def total(self, currency: str) -> Decimal:
        return self._totals.get(currency, ZERO)

    def used(self, currency: str) -> Decimal:
        return sum((amount for cur, amount in self._reservations.values() if cur == currency), ZERO)

    def free(self, currency: str) -> Decimal:
        return self.total(currency) - self.used(currency)

    def reserved(self, key: str) -> Decimal:
        entry = self._reservations.get(key)
        return entry[1] if entry else ZERO

    def require(self, currency: str, amount: Decimal, purpose: str) -> None:
        """Raise InsufficientFunds unless `amount` of `currency` is free."""
        if not self.checked:
            return
        free = self.free(currency)
        if amount > free:
            raise InsufficientFunds(
                f"Not enough {currency}: {purpose} needs {amount_text(amount)} {currency} "
                f"but only {amount_text(free)} {currency} is free."
            )

    def credit(self, currency: str, amount: Decimal) -> None:
        if amount < 0:
            raise ValueError("credit amount must not be negative")
        self._totals[currency] = self.total(currency) + amount
        self.revision += 1

    def debit(self, currency: str, amount: Decimal, purpose: str) -> None:
        if amount < 0:
            raise ValueError("debit amount must not be negative")
        self.require(currency, amount, purpose)
        self._totals[currency] = self.total(currency) - amount
        self.revision += 1

    def reserve(self, key: str, currency: str, amount: Decimal, purpose: str) -> None:
        """Set aside `amount` under `key` (added to what the key already holds)."""
        if amount < 0:
            raise ValueError("reservation must not be negative")
        entry = self._reservations.get(key)
        if entry is not None and entry[0] != currency:
            raise ValueError(f"reservation {key} already holds {entry[0]}, not {currency}")
        self.require(currency, amount, purpose)
        self._reservations[key] = (currency, (entry[1] if entry else ZERO) + amount)
        self.revision += 1

    def release(self, key: str, amount: Decimal | None = None) -> Decimal:
        """Return reserved funds to free: all of them when amount is None, else `amount`, which lies between zero
        and what the key holds (a position's isolated wallet can hold less than zero). Returns what was released."""
        entry = self._reservations.get(key)
        if entry is None:
            return ZERO
        currency, held = entry
        released = held if amount is None else amount
        if not min(held, ZERO) <= released <= max(held, ZERO):
            raise ValueError(f"reservation {key} holds {held}, cannot release {released}")
        if held - released:
            self._reservations[key] = (currency, held - released)
        else:
            del self._reservations[key]
        self.revision += 1
        return released

    def spend_reserved(self, key: str, currency: str, amount: Decimal) -> None:
        """Pay `amount` out of a reservation (into it when negative): it and the total move together, so free
        does not. Funding is paid this way from a position's isolated wallet, which may end up below zero."""
        currency_held, held = self._reservations.get(key, (currency, ZERO))
        if currency_held != currency:
            raise ValueError(f"reservation {key} holds {currency_held}, not {currency}")
        if held - amount:
            self._reservations[key] = (currency, held - amount)
        else:
            self._reservations.pop(key, None)
        self._totals[currency] = self.total(currency) - amount
        self.revision += 1

    def currencies(self) -> list[str]:
        return sorted(set(self._totals) | {currency for currency, _ in self._reservations.values()})

    def balance(self, ts: int) -> Balance:
        """The figures are computed once per revision: they are a function of the totals and reservations
        alone, which change only with the revision. Each Balance gets its own dict of the (frozen) entries."""
        figures = self._figures
        if figures is None or figures[0] != self.revision:
            figures = self._figures = (self.revision, self._currency_balances())
        return Balance(currencies=dict(figures[1]), ts=ts)

    @exact
    def _currency_balances(self) -> dict[str, CurrencyBalance]:
        return {
            currency: CurrencyBalance(currency=currency, free=self.free(currency), used=self.used(currency))
            for currency in self.currencies()
        }

    def to_state(self) -> dict:
        return {
            "totals": {currency: str(amount) for currency, amount in sorted(self._totals.items())},
            "reservations": {
                key: {"currency": currency, "amount": str(amount)}
                for key, (currency, amount) in sorted(self._reservations.items())
            },
        }

    @classmethod
    def from_state(cls, state: dict) -> Ledger:
        ledger = cls({currency: Decimal(amount) for currency, amount in state["totals"].items()})
        for key, entry in state["reservations"].items():
            ledger._reservations[key] = (entry["currency"], Decimal(entry["amount"]))
        ledger.revision += 1
        return ledger

    def snapshot(self) -> tuple[dict[str, Decimal], dict[str, tuple[str, Decimal]]]:
        """A copy to roll back to when a multi-step fill fails half way."""
        return dict(self._totals), dict(self._reservations)

    def restore(self, snapshot: tuple[dict[str, Decimal], dict[str, tuple[str, Decimal]]]) -> None:
        self._totals, self._reservations = dict(snapshot[0]), dict(snapshot[1])
        self.revision += 1

    def shortfall(self) -> str | None:
        """The first currency whose free balance went negative during an unchecked trial, if any."""
        return next((currency for currency in self.currencies() if self.free(currency) < 0), None)

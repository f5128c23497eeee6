"""Option values the commands share, parsed with a message that says how to write them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import typer


def parse_day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2018-01-01", param_hint=option
        ) from None


def parse_usdt(value: str, option: str) -> Decimal:
    try:
        amount = Decimal(value.replace("_", "").strip())
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number of USDT, e.g. 10000", param_hint=option) from None
    if not amount.is_finite() or amount <= 0:
        raise typer.BadParameter(f"must be a positive amount of USDT (got {value})", param_hint=option)
    return amount

"""Rich tables of the service's admin views, for `quorum admin users|pairs|trades|stats|reset-breaker`.

Imported by the commands when they run (rich and the engine's views are not needed for `--help`). Only the
views' fields are shown: they hold no key or secret by construction (engine/service_views.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from engine.formatting import REASON_WORDS, amount, price, signed, when
from engine.service_admin import AdminStats, UserPage
from engine.service_admin_pairs import AdminPairPage
from engine.service_pairs import number
from engine.service_reports import TradePage
from engine.service_views import BreakerView

WIDE = 200  # piped or captured output is not cut to 80 columns


def show(*items: object) -> None:
    console = Console(width=None if sys.stdout.isatty() else WIDE, highlight=False, soft_wrap=False)
    for item in items:
        console.print(item)


def _table(title: str, columns: Iterable[str]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _paging(what: str, page: int, pages: int, total: int) -> str:
    return f"{what}: page {page} of {pages} ({total} in all)"


def users_table(found: UserPage) -> Table:
    table = _table(
        _paging("Users", found.page, found.pages, found.total),
        ("Telegram id", "Name", "Mode", "Status", "Admin", "Pairs", "Account", "Equity", "Since (UTC)"),
    )
    for user in found.users:
        name = user.name or "-"
        if user.username and user.username != user.name:
            name += f" (@{user.username})"
        table.add_row(
            str(user.telegram_id), name, user.mode, user.status, "yes" if user.is_admin else "", str(user.pairs),
            user.account or "no account", price(user.equity) if user.equity is not None else "-",
            when(user.registered_at),
        )  # fmt: skip
    return table


def pairs_table(found: AdminPairPage) -> Table:
    table = _table(
        _paging("Pairs", found.page, found.pages, found.total),
        ("Owner", "Symbol", "Status", "Budget", "Leverage", "Position", "Breaker", "Last cycle (UTC)", "Engine"),
    )
    for row in found.pairs:
        status = row.pair.status + (f": {row.pair.status_reason}" if row.pair.status_reason else "")
        breaker = "; ".join(_breaker(view) for view in row.breakers) or "-"
        engine = f"{row.engine} at {when(row.beat_at)}" if row.engine and row.beat_at else "no heartbeat"
        table.add_row(
            f"{row.telegram_id}" + (f" {row.name}" if row.name else ""), row.pair.symbol, status,
            number(row.pair.budget), f"{row.pair.leverage}x", row.position or "-", breaker,
            when(row.last_cycle) if row.last_cycle else "-", engine,
        )  # fmt: skip
    return table


def trades_table(found: TradePage, telegram_id: int) -> Table:
    table = _table(
        _paging(f"Trades of {telegram_id}, newest first", found.page, found.pages, found.total),
        ("Id", "Symbol", "Side", "Status", "Amount", "Entry", "Exit", "P&L", "Fees", "Why", "Opened", "Closed"),
    )
    for trade in found.trades:
        table.add_row(
            str(trade.id), trade.symbol, trade.side, trade.status, amount(trade.amount), price(trade.entry_price),
            price(trade.exit_price) if trade.exit_price is not None else "-",
            signed(trade.pnl) if trade.pnl is not None else "-", price(trade.fees),
            REASON_WORDS.get(trade.close_reason, trade.close_reason) if trade.close_reason else "-",
            when(trade.opened_at), when(trade.closed_at) if trade.closed_at else "-",
        )  # fmt: skip
    return table


def stats_table(stats: AdminStats) -> Table:
    table = _table("Quorum", ("What", "Count"))
    pairs = ", ".join(f"{status} {count}" for status, count in stats.pairs) or "none"
    for what, value in (
        ("Users", f"{stats.users_total} (active {stats.users_active}, paused {stats.users_paused}, "
                  f"blocked {stats.users_blocked})"),
        ("Pairs", pairs),
        ("Open positions", str(stats.open_positions)),
        ("Trades today (UTC)", f"{stats.trades_today} opened, {stats.closed_today} closed"),
        ("Alerts waiting for Telegram", str(stats.alerts_waiting)),
        ("Engines with a heartbeat in the last 5 minutes", str(stats.engines_beating)),
    ):  # fmt: skip
        table.add_row(what, value)
    return table


def breakers_table(breakers: Iterable[BreakerView]) -> Table:
    table = _table("Open circuit breakers", ("Scope", "Pair", "Tripped (UTC)", "Reopens on its own (UTC)", "Why"))
    for view in breakers:
        why = f"{view.consecutive_losses} losing trades in a row" if view.symbol else "daily loss limit"
        table.add_row(view.scope.value, view.symbol or "all", when(view.tripped_at), when(view.reopens_at), why)
    return table


def _breaker(view: BreakerView) -> str:
    what = "streak" if view.symbol else "daily loss"
    return f"{what} until {when(view.reopens_at)}"

"""/status, /positions, /trades, /balance, /decisions: what the engines recorded, read through the service.

/status and /positions carry a Refresh button that redraws the message in place; /trades pages with buttons.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.render import (
    bold,
    button,
    holding,
    money,
    number,
    pair_line,
    pnl,
    pressed,
    quote_of,
    safe,
    stamp,
    trade_line,
    whole,
)
from bot.replies import Button, Reply
from bot.router import Actor, Answer, Command, Router
from engine.formatting import amount, percent, price
from engine.service import QuorumService
from engine.service_balance import PAPER_CURRENCY
from engine.service_inputs import match_symbol, symbol_text
from engine.service_reports import DecisionReport, PairStatus, PositionView, StatusReport, VoteView

TRADES_PER_PAGE = 10
_PAGE = re.compile(r"[+-]?[0-9]+")
TRADES_USAGE = "/trades [SYMBOL] [page]"


def position_lines(position: PositionView, indent: str = "") -> list[str]:
    quote = quote_of(position.symbol)
    mark = f" · mark {price(position.mark_price)}" if position.mark_price is not None else ""
    lines = [
        f"{indent}{safe(position.side.upper())} {amount(position.amount)} @ {price(position.entry_price)}{mark} · "
        f"{position.leverage}x · {pnl(position.unrealized_pnl, quote)}"
    ]
    guards = [
        f"{label} {price(value)}"
        for label, value in (("SL", position.stop_loss), ("TP", position.take_profit),
                             ("liquidation", position.liquidation_price))
        if value is not None
    ]  # fmt: skip
    guards.append(f"margin {price(position.margin)}")
    lines.append(f"{indent}{' · '.join(guards)} · since {stamp(position.opened_at)}")
    return lines


def status_currency(report: StatusReport) -> str:
    if report.pairs:
        return quote_of(report.pairs[0].pair.symbol)
    return PAPER_CURRENCY if report.account is not None and report.account.paper else ""


def _pair_block(line: PairStatus) -> list[str]:
    lines = [pair_line(line.pair)]
    if line.position is not None:
        lines += position_lines(line.position, "   ")
    engine = f" · engine {safe(line.engine)}" if line.engine else ""
    lines.append(f"   last cycle {stamp(line.last_cycle_at)}{engine}")
    if line.engine_error:
        lines.append(f"   ⚠️ {safe(line.engine_error, 200)}")
    if line.breaker is not None:
        lines.append(f"   ⛔ {safe(line.breaker.description)}")
    return lines


def vote_line(vote: VoteView) -> str:
    who = safe(vote.provider if not vote.model else f"{vote.provider} ({vote.model})", 80)
    if vote.action is None:
        return f"• {who}: abstained ({safe(vote.error or 'no answer', 200)})"
    confidence = f" {percent(vote.confidence)}" if vote.confidence is not None else ""
    levels = [f"{label} {price(value)}" for label, value in (("SL", vote.stop_loss), ("TP", vote.take_profit))
              if value is not None]  # fmt: skip
    extra = f" · {' · '.join(levels)}" if levels else ""
    reasoning = f"\n   <i>{safe(vote.reasoning, 280)}</i>" if vote.reasoning else ""
    return f"• {who}: <b>{safe(vote.action)}</b>{confidence}{extra}{reasoning}"


def decisions_text(report: DecisionReport) -> str:
    confidence = f" at {percent(report.confidence)}" if report.confidence is not None else ""
    lines = [
        f"<b>Last decision on {safe(report.symbol)}</b> · candle {stamp(report.candle_at)}",
        f"Consensus: <b>{safe(report.action)}</b>{confidence}"
        + (f" · {safe(report.consensus_reason, 300)}" if report.consensus_reason else ""),
        f"Outcome: {safe(report.outcome)}" + (f" · {safe(report.reason, 300)}" if report.reason else ""),
        f"Votes ({len(report.votes)}):",
        *(vote_line(vote) for vote in report.votes),
    ]
    if not report.votes:
        lines.append("No analyst vote was recorded for this cycle.")
    return "\n".join(lines)


class ReportCommands:
    def __init__(self, service: QuorumService) -> None:
        self.service = service

    def register(self, router: Router) -> None:
        for command in (
            Command("status", "/status", "Your account, pairs, positions and breakers", self.status),
            Command("positions", "/positions", "Open positions with unrealized P&L", self.positions),
            Command("trades", TRADES_USAGE, "Your trades, newest first", self.trades, 0, 2),
            Command("balance", "/balance", "Your account's balance", self.balance),
            Command("decisions", "/decisions <SYMBOL>", "The analysts' last votes on a pair", self.decisions, 1, 1),
        ):
            router.command(command)
        router.button("status", self.status_pressed)
        router.button("positions", self.positions_pressed)
        router.button("trades", self.trades_pressed)

    async def status(self, actor: Actor, args: list[str]) -> Answer:
        return await self._status(actor)

    async def _status(self, actor: Actor) -> Reply:
        report = await self.service.reports.status(actor.telegram_id)
        if report.account is None and not report.pairs:
            return Reply("You have no connected account yet. /connect paper 10000 starts paper trading.")
        currency = status_currency(report)
        lines = [
            f"<b>Status</b> · {safe(report.user.mode)} mode"
            + (f" · {safe(report.account.label)}" if report.account else " · no account connected"),
            f"Equity {money(report.equity, currency)} · balance {money(report.balance, currency)}",
            f"Realized {pnl(report.realized_pnl, currency)} · unrealized {pnl(report.unrealized_pnl, currency)}",
        ]
        if report.daily_breaker is not None:
            lines.append(f"⛔ {safe(report.daily_breaker.description)} /resume to decide now.")
        if report.pairs:
            for line in report.pairs:
                lines += _pair_block(line)
        else:
            lines.append("No pairs yet: /addpair BTC/USDT 1000.")
        return Reply("\n".join(lines), ((button("🔄 Refresh", "status", actor),),))

    async def status_pressed(self, actor: Actor, args: list[str]) -> Answer:
        pressed(actor, args, 0)
        return _edited(await self._status(actor))

    async def positions(self, actor: Actor, args: list[str]) -> Answer:
        return await self._positions(actor)

    async def _positions(self, actor: Actor) -> Reply:
        positions = await self.service.reports.positions(actor.telegram_id)
        refresh = ((button("🔄 Refresh", "positions", actor),),)
        if not positions:
            return Reply("No open position. /status shows your pairs.", refresh)
        lines = [f"<b>Open positions</b> ({len(positions)})"]
        for position in positions:
            lines.append(bold(position.symbol))
            lines += position_lines(position, "   ")
        total = sum((p.unrealized_pnl for p in positions), Decimal(0))
        lines.append(f"Unrealized in all: {pnl(total, quote_of(positions[0].symbol))} at the last marks")
        return Reply("\n".join(lines), refresh)

    async def positions_pressed(self, actor: Actor, args: list[str]) -> Answer:
        pressed(actor, args, 0)
        return _edited(await self._positions(actor))

    async def trades(self, actor: Actor, args: list[str]) -> Answer:
        pages = [arg for arg in args if _PAGE.fullmatch(arg)]
        symbols = [arg for arg in args if not _PAGE.fullmatch(arg)]
        if len(pages) > 1 or len(symbols) > 1:
            return Reply(f"Usage: {safe(TRADES_USAGE)}, for example /trades BTC/USDT 2.")
        pair: int | None = None
        if symbols:
            await self.service.reports.trades(actor.telegram_id, 1, 1, pair=symbols[0])  # the service's refusal
            pair = await self._pair_id(actor, symbols[0])
        return await self._page(actor, pages[0] if pages else "1", pair)

    async def _pair_id(self, actor: Actor, typed: str) -> int | None:
        pairs = {pair.symbol: pair.id for pair in await self.service.pairs.show(actor.telegram_id)}
        name = match_symbol(symbol_text(typed), list(pairs))
        return pairs[name] if name is not None else None

    async def _page(self, actor: Actor, page: str | int, pair: int | None, edit: bool = False) -> Reply:
        found = await self.service.reports.trades(actor.telegram_id, page, TRADES_PER_PAGE, pair=pair)
        which = f" on {safe(found.trades[0].symbol)}" if pair is not None and found.trades else ""
        if found.total == 0:
            return Reply("No trades yet: they appear here as your pairs open and close positions.", edit=edit)
        lines = [f"<b>Trades{which}</b> · page {found.page} of {found.pages} ({found.total} in all)"]
        lines += [trade_line(trade) for trade in found.trades] or ["This page is past the last one."]
        extra = (pair,) if pair is not None else ()
        row: list[Button] = []
        if found.page > 1:
            row.append(button("◀️ Newer", "trades", actor, min(found.page - 1, found.pages), *extra))
        if found.page < found.pages:
            row.append(button("Older ▶️", "trades", actor, found.page + 1, *extra))
        return Reply("\n".join(lines), (tuple(row),) if row else (), edit=edit)

    async def trades_pressed(self, actor: Actor, args: list[str]) -> Answer:
        parts = pressed(actor, args, 2 if len(args) > 2 else 1)
        return await self._page(actor, whole(parts[0]), whole(parts[1]) if len(parts) > 1 else None, edit=True)

    async def balance(self, actor: Actor, args: list[str]) -> Answer:
        report = await self.service.reports.balance(actor.telegram_id)
        lines = [f"<b>Balance</b> · {safe(report.account.label)}"]
        for line in report.currencies:
            held = [holding(value, line.currency) for value in (line.total, line.free, line.used)]
            lines.append(f"{bold(line.currency)}: {held[0]} (free {held[1]}, in use {held[2]})")
        if not report.currencies:
            lines.append("The account holds nothing yet.")
        for quote, allotted in report.allotted:
            lines.append(f"Allotted to pairs: {number(allotted)} {safe(quote)}")
        currency = report.allotted[0][0] if report.allotted else ""
        lines.append(
            f"Equity {money(report.equity, currency)} · realized {pnl(report.realized_pnl, currency)} · "
            f"unrealized {pnl(report.unrealized_pnl, currency)} (as the engines last marked it)"
        )
        return Reply("\n".join(lines))

    async def decisions(self, actor: Actor, args: list[str]) -> Answer:
        report = await self.service.reports.decisions(actor.telegram_id, args[0])
        return Reply(decisions_text(report))


def _edited(reply: Reply) -> Reply:
    return Reply(reply.html, reply.buttons, reply.photo, edit=True)

"""/profit (the metrics and an equity chart), /top (the opt-in leaderboard), /chart (candles with the user's
entries and exits).

Charts are drawn by a `Charts` (matplotlib by default, called in a worker thread so the event loop keeps serving
other users; `quorum run` draws in a child process, bot/chart_pool.py); tests inject a cheap one. The service
holds no candles, so /chart takes a `CandleSource` from whoever runs the engines (their market data); without one it
says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from adapters.exchange.errors import ExchangeError
from bot.render import bold, button, money, number, pnl, pressed, safe, stamp
from bot.replies import Reply
from bot.router import Actor, Answer, Command, Router
from domain.market import Candle, MarketType
from domain.money import datetime_to_ms, ms_to_datetime
from engine.charts import TradeMarker, candle_chart, equity_chart
from engine.formatting import percent
from engine.metrics import PortfolioMetrics
from engine.service import QuorumService
from engine.service_errors import ExchangeUnavailable, NoAccount, ServiceError
from engine.service_inputs import match_symbol, symbol_text
from engine.service_profit import Leaderboard

CandleSource = Callable[[str, MarketType, str], Awaitable[Sequence[Candle]]]  # (exchange, market type, symbol)
CHART_TRADES = 50


class Charts(Protocol):
    def equity(self, curve: Sequence[tuple[datetime, Decimal]], *, title: str, starting_balance: Decimal) -> bytes:
        """A PNG of the equity curve (and its drawdown)."""
        ...

    def candles(self, candles: Sequence[Candle], markers: Sequence[TradeMarker], *, title: str) -> bytes:
        """A PNG of the candles with the markers at their prices."""
        ...


class MatplotlibCharts:
    """engine/charts.py's PNGs."""

    def equity(self, curve: Sequence[tuple[datetime, Decimal]], *, title: str, starting_balance: Decimal) -> bytes:
        return equity_chart(curve, title=title, starting_balance=starting_balance)

    def candles(self, candles: Sequence[Candle], markers: Sequence[TradeMarker], *, title: str) -> bytes:
        return candle_chart(candles, markers, title=title)


def _figure(value: float | Decimal | None, as_percent: bool = True, signed_: bool = False) -> str:
    if value is None:
        return "n/a"
    return percent(value, signed_) if as_percent else f"{float(value):.2f}"


def headline(metrics: PortfolioMetrics) -> str:
    """The four figures people ask for first."""
    return (
        f"ROI <b>{_figure(metrics.total_return, signed_=True)}</b> · win rate <b>{_figure(metrics.win_rate)}</b> · "
        f"Sharpe <b>{_figure(metrics.sharpe, False)}</b> · max drawdown <b>{_figure(metrics.max_drawdown)}</b>"
    )


def leaderboard_text(board: Leaderboard) -> str:
    if not board.entries:
        lines = ["<b>Leaderboard</b>", "Nobody has joined the leaderboard yet."]
    else:
        lines = ["<b>Leaderboard</b> · by P&amp;L % of the account"]
        medals = {1: "🥇", 2: "🥈", 3: "🥉"}
        for entry in board.entries:
            you = " ← you" if entry.you else ""
            lines.append(
                f"{medals.get(entry.rank, f'{entry.rank}.')} {safe(entry.name, 40)} · "
                f"{percent(entry.pnl_fraction, signed_=True)}{you}"
            )
    lines.append(
        "You are on it (name and P&amp;L % only)."
        if board.you_opted_in
        else "You are not on it: only people who join are shown, by name and P&amp;L % only."
    )
    return "\n".join(lines)


class ProfitCommands:
    def __init__(self, service: QuorumService, charts: Charts, candles: CandleSource | None = None) -> None:
        self.service = service
        self.charts = charts
        self.candle_source = candles

    def register(self, router: Router) -> None:
        for command in (
            Command("profit", "/profit", "ROI, win rate, Sharpe, drawdown and an equity chart", self.profit),
            Command("top", "/top", "The leaderboard of users who joined it", self.top),
            Command("chart", "/chart <SYMBOL>", "Candles with your entries and exits", self.chart, 1, 1),
        ):
            router.command(command)
        router.button("top", self.top_pressed)

    async def profit(self, actor: Actor, args: list[str]) -> Answer:
        report = await self.service.profit.profit(actor.telegram_id)
        total, currency = report.total, report.currency
        since = f" since {stamp(total.start)}" if total.start is not None else ""
        lines = [
            f"<b>Profit</b>{since} · starting balance {money(report.starting_balance, currency)}",
            f"Now {money(total.end_equity, currency)} · {pnl(total.profit, currency)}",
            headline(total),
            *(safe(line) for line in total.lines()[1:]),
        ]
        if report.pairs:
            lines.append("<b>Per pair</b> (closed trades, from the pair's budget)")
        for pair in report.pairs:
            m = pair.metrics
            lines.append(
                f"{bold(pair.symbol)} · budget {number(pair.budget)} · {pnl(pair.net_pnl, currency)} · "
                f"{m.trades} trade{'s' if m.trades != 1 else ''} · win rate {_figure(m.win_rate)}"
            )
        if not report.curve:
            lines.append("The equity chart comes after your pairs' first cycle.")
            return Reply("\n".join(lines))
        png = await asyncio.to_thread(
            self.charts.equity, report.curve, title=f"Equity ({currency})", starting_balance=report.starting_balance
        )
        caption = f"Equity and drawdown, {stamp(report.curve[0][0])} to {stamp(report.curve[-1][0])}"
        return [Reply("\n".join(lines)), Reply(caption, photo=png)]

    async def top(self, actor: Actor, args: list[str]) -> Answer:
        board = await self.service.profit.leaderboard(actor.telegram_id)
        return self._board(actor, board)

    def _board(self, actor: Actor, board: Leaderboard, edit: bool = False) -> Reply:
        toggle = (
            button("Leave the leaderboard", "top", actor, 0)
            if board.you_opted_in
            else button("Join the leaderboard", "top", actor, 1)
        )
        return Reply(leaderboard_text(board), ((toggle,),), edit=edit)

    async def top_pressed(self, actor: Actor, args: list[str]) -> Answer:
        (wanted,) = pressed(actor, args, 1)
        if wanted not in ("0", "1"):
            return Reply("That button is no longer valid. Send /top again.")
        await self.service.settings.set_leaderboard(actor.telegram_id, wanted == "1")
        return self._board(actor, await self.service.profit.leaderboard(actor.telegram_id), edit=True)

    async def chart(self, actor: Actor, args: list[str]) -> Answer:
        tid = actor.telegram_id
        page = await self.service.reports.trades(tid, 1, CHART_TRADES, pair=args[0])  # refuses a pair not yours
        symbols = [pair.symbol for pair in await self.service.pairs.show(tid)]
        symbol = match_symbol(symbol_text(args[0]), symbols) or args[0]
        if self.candle_source is None:
            raise ServiceError("Candle charts are not available here: this process has no market data. /trades "
                               "lists your entries and exits.")  # fmt: skip
        account = (await self.service.reports.status(tid)).account
        if account is None:
            raise NoAccount()
        try:
            candles = list(await self.candle_source(account.exchange, account.market_type, symbol))
        except ExchangeError as exc:
            raise ExchangeUnavailable(
                f"The {symbol} candles could not be read from {account.exchange}: {exc}"
            ) from None
        first = candles[0].ts if candles else 0
        markers: list[TradeMarker] = []
        for trade in page.trades:
            side: Literal["long", "short"] = "short" if trade.side == "short" else "long"
            if datetime_to_ms(trade.opened_at) >= first:
                markers.append(TradeMarker(datetime_to_ms(trade.opened_at), trade.entry_price, "entry", side))
            if (
                trade.closed_at is not None
                and trade.exit_price is not None
                and datetime_to_ms(trade.closed_at) >= first
            ):
                markers.append(TradeMarker(datetime_to_ms(trade.closed_at), trade.exit_price, "exit", side))
        if not candles:
            return Reply(f"No {safe(symbol)} candles to draw yet.")
        png = await asyncio.to_thread(self.charts.candles, candles, markers, title=f"{symbol} · entries and exits")
        entries = sum(1 for marker in markers if marker.kind == "entry")
        exits = len(markers) - entries
        caption = (
            f"{bold(symbol)}: {len(candles)} candles to {stamp(ms_to_datetime(candles[-1].ts))} · {entries} "
            f"entr{'ies' if entries != 1 else 'y'} and {exits} exit{'s' if exits != 1 else ''} marked"
        )
        return Reply(caption, photo=png)

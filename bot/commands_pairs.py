"""/addpair, /removepair, /pairs, /pause, /resume, /close, /stop: what a user trades and how to stop it.

Destructive steps ask first through buttons (stop everything, remove a pair with its position, reset a tripped
circuit breaker); each button names its owner and the pair by id, and the service acts only for the presser.
"""

from __future__ import annotations

from decimal import Decimal

from bot.render import (
    STALE,
    ButtonRefused,
    bold,
    button,
    cancel_button,
    number,
    pair_line,
    pnl,
    pressed,
    quote_of,
    reason_words,
    safe,
    whole,
)
from bot.replies import Button, Reply
from bot.router import Actor, Answer, Command, Router
from engine.formatting import amount, price
from engine.service import QuorumService
from engine.service_accounts import ConfirmationNeeded
from engine.service_errors import NothingToResume, PairNotFound, PositionStillOpen
from engine.service_inputs import match_symbol, symbol_text
from engine.service_pairs import PairsChanged
from engine.service_trading import BreakerPreview, BreakerResumed, StoppedAll
from engine.service_views import ClosedTradeView


def closed_line(trade: ClosedTradeView) -> str:
    quote = quote_of(trade.symbol)
    return (
        f"{bold(trade.symbol)} {safe(trade.side)} {amount(trade.amount)}: {price(trade.entry_price)} → "
        f"{price(trade.exit_price)} · {pnl(trade.pnl, quote)} (fees {price(trade.fees)}) · {reason_words(trade.reason)}"
    )


class PairCommands:
    def __init__(self, service: QuorumService) -> None:
        self.service = service

    def register(self, router: Router) -> None:
        add = Command("addpair", "/addpair <SYMBOL> <budget> [leverage]", "Trade a pair with a budget", self.addpair,
                      2, 3)  # fmt: skip
        remove = Command("removepair", "/removepair <SYMBOL> [close]", "Stop trading a pair", self.removepair, 0, 2)
        for command in (
            add,
            remove,
            Command("pairs", "/pairs", "Your pairs, budgets and leverage", self.pairs),
            Command("pause", "/pause [SYMBOL]", "Pause one pair or all (no new entries)", self.pause, 0, 1),
            Command("resume", "/resume [SYMBOL]", "Resume paused pairs or a tripped breaker", self.resume, 0, 1),
            Command("close", "/close <SYMBOL>", "Close a pair's position at market", self.close, 1, 1),
            Command("stop", "/stop", "Close every position and pause every pair", self.stop),
        ):
            router.command(command)
        router.button("rm", self.remove_pressed)
        router.button("stop", self.stop_pressed)
        router.button("resume", self.resume_pressed)

    async def addpair(self, actor: Actor, args: list[str]) -> Answer:
        leverage = args[2] if len(args) > 2 else 1
        added = await self.service.pairs.add(actor.telegram_id, args[0], args[1], leverage)
        pair, quote = added.pair, safe(added.quote)
        return Reply(
            f"✅ Added {bold(pair.symbol)}: budget {number(pair.budget)} {quote} at {pair.leverage}x.\n"
            f"{number(added.unallotted)} {quote} of your account is left for other pairs.\n"
            "It trades from its next candle; /status follows it, /pause or /removepair stops it."
        )

    async def removepair(self, actor: Actor, args: list[str]) -> Answer:
        if not args:
            return await self._choose_pair(actor)
        if len(args) == 2 and args[1].strip().lower() != "close":
            return Reply("Usage: /removepair &lt;SYMBOL&gt; [close]. Add <code>close</code> to close its position too.")
        return await self._remove(actor, args[0], close=len(args) == 2)

    async def _choose_pair(self, actor: Actor) -> Reply:
        pairs = await self.service.pairs.show(actor.telegram_id)
        if not pairs:
            raise PairNotFound("You have no pairs to remove. Add one with /addpair BTC/USDT 1000.")
        rows: list[tuple[Button, ...]] = [(button(f"Remove {pair.symbol}", "rm", actor, pair.id),) for pair in pairs]
        rows.append((cancel_button(actor),))
        return Reply("Which pair should stop trading? Its history stays in your reports.", tuple(rows))

    async def _remove(self, actor: Actor, ref: str | int, close: bool, edit: bool = False) -> Reply:
        try:
            removed = await self.service.pairs.remove(actor.telegram_id, ref, close=close)
        except PositionStillOpen as refused:
            pair_id = ref if isinstance(ref, int) else await self._pair_id(actor, ref)
            if pair_id is None:
                raise
            rows = ((button("Remove and close at market", "rm", actor, pair_id, "close"), cancel_button(actor)),)
            return Reply(f"⚠️ {safe(refused.message, 1000)}", rows, edit=edit)
        lines = [f"🗑 Removed {bold(removed.symbol)}: it opens nothing new; its history stays in your reports."]
        if removed.closed is not None:
            lines.append(f"Closed on the way out: {closed_line(removed.closed)}")
        return Reply("\n".join(lines), edit=edit)

    async def _pair_id(self, actor: Actor, typed: str) -> int | None:
        pairs = {pair.symbol: pair.id for pair in await self.service.pairs.show(actor.telegram_id)}
        name = match_symbol(symbol_text(typed), list(pairs))
        return pairs[name] if name is not None else None

    async def remove_pressed(self, actor: Actor, args: list[str]) -> Answer:
        parts = pressed(actor, args, max(len(args) - 1, 1))
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != "close"):
            raise ButtonRefused(STALE)
        return await self._remove(actor, whole(parts[0]), close=len(parts) == 2, edit=True)

    async def pairs(self, actor: Actor, args: list[str]) -> Answer:
        pairs = await self.service.pairs.show(actor.telegram_id)
        if not pairs:
            return Reply("You have no pairs yet. Add one with /addpair BTC/USDT 1000.")
        allotted: dict[str, Decimal] = {}
        for pair in pairs:
            allotted[quote_of(pair.symbol)] = allotted.get(quote_of(pair.symbol), Decimal(0)) + pair.budget
        total = ", ".join(f"{number(value)} {safe(quote)}" for quote, value in sorted(allotted.items()))
        lines = [f"<b>Your pairs</b> ({len(pairs)})", *(pair_line(pair) for pair in pairs), f"Allotted: {total}"]
        return Reply("\n".join(lines))

    async def pause(self, actor: Actor, args: list[str]) -> Answer:
        changed = await self.service.pairs.pause(actor.telegram_id, args[0] if args else None)
        tail = "Open positions keep their stop loss and take profit. /resume to trade again."
        return Reply(_changed_text(changed, "⏸ Paused", "already paused", tail))

    async def resume(self, actor: Actor, args: list[str]) -> Answer:
        """Paused pairs trade again; a tripped breaker is shown with why it tripped and resumed on confirmation."""
        tid = actor.telegram_id
        breakers = await self.service.trading.breakers(tid)
        replies: list[Reply] = []
        try:
            changed = await self.service.pairs.resume(tid, args[0] if args else None)
        except PairNotFound:
            if args or not breakers:
                raise
        else:
            if changed.changed or not breakers:
                replies.append(Reply(_changed_text(changed, "▶️ Resumed", "already trading", "")))
        if breakers:
            try:
                preview = await self.service.trading.resume_breaker(tid)
            except NothingToResume:
                preview = None
            if isinstance(preview, BreakerPreview):
                rows = ((button("Resume", "resume", actor), cancel_button(actor)),)
                replies.append(Reply(f"⛔ {safe(preview.message, 2000)}", rows))
        return replies or Reply("Nothing to resume: your pairs trade as usual.")

    async def resume_pressed(self, actor: Actor, args: list[str]) -> Answer:
        pressed(actor, args, 0)
        result = await self.service.trading.resume_breaker(actor.telegram_id, confirm=True)
        if not isinstance(result, BreakerResumed):
            return Reply(safe(result.message, 2000), edit=True)
        names = ", ".join(safe(view.symbol or "daily loss limit") for view in result.breakers)
        lines = [f"▶️ Circuit breaker reset ({names}): new entries are allowed again."]
        lines += [f"• {safe(message)}" for message in result.messages]
        return Reply("\n".join(lines), edit=True)

    async def close(self, actor: Actor, args: list[str]) -> Answer:
        closed = await self.service.trading.close(actor.telegram_id, args[0])
        return Reply(f"✅ Closed at market: {closed_line(closed.trade)}")

    async def stop(self, actor: Actor, args: list[str]) -> Answer:
        asked = await self.service.trading.stop_all(actor.telegram_id)
        if isinstance(asked, ConfirmationNeeded):
            rows = ((button("Stop everything", "stop", actor), cancel_button(actor)),)
            return Reply(f"⚠️ {safe(asked.message, 2000)}", rows)
        return _stopped(asked)

    async def stop_pressed(self, actor: Actor, args: list[str]) -> Answer:
        pressed(actor, args, 0)
        done = await self.service.trading.stop_all(actor.telegram_id, confirm=True)
        if isinstance(done, ConfirmationNeeded):
            return Reply(safe(done.message, 2000), edit=True)
        reply = _stopped(done)
        return Reply(reply.html, edit=True)


def _stopped(done: StoppedAll) -> Reply:
    lines = [f"⏹ Stopped: {', '.join(safe(symbol) for symbol in done.paused)} paused."]
    lines += [f"Closed: {closed_line(trade)}" for trade in done.closed]
    lines += [f"⚠️ Could not close {bold(symbol)}: {safe(why)}" for symbol, why in done.failed]
    if not done.closed and not done.failed:
        lines.append("No position was open.")
    lines.append("/resume starts them again.")
    return Reply("\n".join(lines))


def _changed_text(changed: PairsChanged, done: str, same: str, tail: str) -> str:
    lines = []
    if changed.changed:
        lines.append(f"{done}: {', '.join(safe(symbol) for symbol in changed.changed)}.")
    if changed.unchanged:
        lines.append(f"{', '.join(safe(symbol) for symbol in changed.unchanged)}: {same}.")
    if tail and changed.changed:
        lines.append(tail)
    return "\n".join(lines) or "Nothing changed."

"""/start, /connect, /disconnect, /mode: who the user is and what they trade on.

/connect carries API keys: it is private-only (the transport deletes the message that carried them) and no
reply quotes the key or the secret, not even when they were typed in the wrong place.
"""

from __future__ import annotations

from bot.render import bold, button, cancel_button, money, pressed, safe
from bot.replies import Reply
from bot.router import Actor, Answer, Command, Router
from engine.service import QuorumService
from engine.service_accounts import ConfirmationNeeded, Connected
from engine.service_errors import UnknownExchange

CONNECT_USAGE = "/connect <exchange> <key> <secret> [passphrase] [testnet] [spot|perpetual] · /connect paper [balance]"
MARKET_WORDS = {"spot", "perpetual", "perp", "futures", "swap"}
_SHORT_EXCHANGE = 20  # longer "exchange ids" are probably a key typed in the wrong place: never quote them


class AccountCommands:
    def __init__(self, service: QuorumService) -> None:
        self.service = service

    def register(self, router: Router) -> None:
        router.command(Command("start", "/start", "Register and see how to begin", self.start))
        router.command(
            Command("connect", CONNECT_USAGE, "Connect a paper or exchange account", self.connect, 1, 6,
                    private_only=True)
        )  # fmt: skip
        router.command(Command("disconnect", "/disconnect", "Disconnect your account", self.disconnect))
        router.command(Command("mode", "/mode paper|live", "Trade on paper or with real money", self.mode, 1, 1))
        router.button("mode", self.mode_pressed)
        router.button("cancel", self.cancel_pressed)

    async def start(self, actor: Actor, args: list[str]) -> Answer:
        """Register (or greet again) and say what to do next."""
        registered = await self.service.accounts.register(actor.telegram_id, actor.name, actor.username)
        name = registered.user.name or actor.username or "trader"
        if not registered.created:
            return Reply(f"Welcome back, {safe(name, 64)}. /status shows where you stand, /help lists the commands.")
        return Reply(
            "\n".join([
                f"Welcome to Quorum, {safe(name, 64)}!",
                "A panel of AI analysts votes on every candle; a risk manager and a circuit breaker guard each "
                "trade. You start in paper mode: no real money moves.",
                "",
                "1. /connect paper 10000 opens a paper account with 10,000 USDT.",
                "2. /addpair BTC/USDT 1000 trades BTC/USDT with a budget of 1,000 USDT.",
                "3. /status shows your pairs and positions; /help lists every command.",
            ])
        )  # fmt: skip

    async def connect(self, actor: Actor, args: list[str]) -> Answer:
        """A paper account, or an exchange account whose keys are checked with one read-only call."""
        first = args[0].strip().lower()
        if first == "paper":
            return await self._paper(actor, args[1:])
        if len(args) < 3:
            return Reply(
                f"Usage: {safe(CONNECT_USAGE)}\nFor an exchange account send the exchange, the API key and the "
                "secret in one message; for paper trading: /connect paper 10000."
            )
        testnet, market, passphrase = self._options(args[3:])
        if testnet is None:
            return Reply(
                "I read the exchange, the key and the secret, then the passphrase if your exchange has one (OKX, "
                "KuCoin ...), and at most the words <code>testnet</code> and <code>spot</code> or "
                f"<code>perpetual</code>. Usage: {safe(CONNECT_USAGE)}"
            )
        try:
            connected = await self.service.accounts.connect_live(
                actor.telegram_id, args[0], args[1], args[2], password=passphrase, testnet=testnet, market_type=market
            )
        except UnknownExchange as refused:
            if len(args[0]) <= _SHORT_EXCHANGE:
                raise
            raise UnknownExchange(
                "The first word after /connect must be an exchange id such as binance, bybit, okx or kraken (or "
                "paper). Nothing was stored."
            ) from refused
        return self._connected(connected, live=True)

    async def _paper(self, actor: Actor, rest: list[str]) -> Answer:
        balance: str | None = None
        market: str | None = None
        for word in rest:
            if word.strip().lower() in MARKET_WORDS and market is None:
                market = word
            elif balance is None:
                balance = word
            else:
                return Reply("Usage: /connect paper [balance] [spot|perpetual], for example /connect paper 10000.")
        connected = await self.service.accounts.connect_paper(actor.telegram_id, balance, market_type=market)
        return self._connected(connected, live=False)

    @staticmethod
    def _options(words: list[str]) -> tuple[bool | None, str | None, str | None]:
        """(testnet, market type, passphrase) from the words after the secret: the option words, and one other
        word, the passphrase (it comes first); testnet None when the words cannot be read that way."""
        testnet, market, passphrase = False, None, None
        for position, raw in enumerate(words):
            word = raw.strip().lower()
            if word == "testnet" and not testnet:
                testnet = True
            elif word in MARKET_WORDS and market is None:
                market = word
            elif position == 0:
                passphrase = raw.strip()
            else:
                return None, None, None
        return testnet, market, passphrase

    @staticmethod
    def _connected(connected: Connected, live: bool) -> Reply:
        account = connected.account
        held = ", ".join(money(total, currency) for currency, total in connected.balances[:5]) or "nothing yet"
        lines = [f"✅ Connected: {bold(account.label)}.", f"Balance: {held}."]
        if live:
            lines += [
                "Your keys were checked with one read-only call and are stored encrypted. If the message with them "
                "is still in this chat, delete it.",
                "You are still in paper mode: /mode live switches to real orders, after you confirm.",
            ]
        else:
            lines.append("Next: /addpair BTC/USDT 1000 to start trading a pair on paper.")
        return Reply("\n".join(lines))

    async def disconnect(self, actor: Actor, args: list[str]) -> Answer:
        done = await self.service.accounts.disconnect(actor.telegram_id)
        stopped = ", ".join(safe(symbol) for symbol in done.stopped_pairs)
        tail = f" Stopped pairs: {stopped} (their history stays in your reports)." if stopped else ""
        return Reply(f"Disconnected {bold(done.account.label)}.{tail} /connect links another account.")

    async def mode(self, actor: Actor, args: list[str]) -> Answer:
        result = await self.service.accounts.set_mode(actor.telegram_id, args[0])
        if isinstance(result, ConfirmationNeeded):
            return Reply(
                f"⚠️ {safe(result.message, 1000)}",
                ((button("Switch to live", "mode", actor, "live"), cancel_button(actor)),),
            )
        return self._mode_reply(result.mode, result.changed)

    async def mode_pressed(self, actor: Actor, args: list[str]) -> Answer:
        (wanted,) = pressed(actor, args, 1)
        result = await self.service.accounts.set_mode(actor.telegram_id, wanted, confirm=True)
        if isinstance(result, ConfirmationNeeded):  # the service asks again: show its words, change nothing
            return Reply(safe(result.message, 1000), edit=True)
        reply = self._mode_reply(result.mode, result.changed)
        return Reply(reply.html, edit=True)

    @staticmethod
    def _mode_reply(mode: str, changed: bool) -> Reply:
        if not changed:
            return Reply(f"You are already in {safe(mode)} mode.")
        if mode == "live":
            return Reply("🔴 Live mode: your pairs now place real orders with real money. /mode paper to go back.")
        return Reply("📝 Paper mode: your pairs trade on paper again; no real money moves.")

    async def cancel_pressed(self, actor: Actor, args: list[str]) -> Answer:
        pressed(actor, args, 0)
        return Reply("Cancelled: nothing was changed.", edit=True)

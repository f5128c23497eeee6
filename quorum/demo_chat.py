"""The demo's three people and what they type: each is a terminal chat (bot/console.py) on the same router as
Telegram, so every answer below is the bot's real reply and every alert the one Telegram would carry.

A person answers a tripped circuit breaker the way the alert suggests: /resume, read the bot's preview, press its
Resume button; or (resumes=False) lets the breaker reopen on its own after its cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from bot.alerts import TITLES
from bot.console import ConsoleChat
from bot.replies import html_to_text
from engine.events import EventKind
from engine.formatting import when
from quorum.demo_screen import Screen

if TYPE_CHECKING:
    from bot.run import Quorum

TRIPPED = f"<b>{escape(TITLES[EventKind.BREAKER_TRIPPED])}</b>"  # how a breaker alert begins
INDENT = "    "


@dataclass(frozen=True, slots=True)
class DemoUser:
    telegram_id: int
    name: str
    setup: tuple[str, ...]  # typed before the history plays
    resumes: bool  # answers a tripped breaker with /resume; False: waits for it to reopen on its own


USERS = (
    DemoUser(
        101, "Ann",
        ("/start", "/connect paper 10000", "/addpair BTC/USDT 2000 3", "/addpair ETH/USD 1000 2"),
        resumes=True,
    ),
    DemoUser(
        102, "Ben",
        (
            "/start", "/connect paper 5000", "/addpair BTC/USDT 1500 2", "/settings breaker_max_consecutive_losses 2",
            "/settings alert daily_summary off",
        ),
        resumes=True,
    ),
    DemoUser(
        103, "Cid",
        (
            "/start", "/connect paper 3000", "/addpair btc/usdt 1000", "/settings breaker_cooldown_minutes 10080",
            "/settings alert daily_summary off",
        ),
        resumes=False,
    ),
)  # fmt: skip
CLOSING = ("/status", "/profit")  # typed by each once the history has played


class DemoChat(ConsoleChat):
    """One scripted person: what they type and what the bot answers go to the screen, stamped with the simulated
    time; an image the bot sends is saved in `images` (its path is what the screen shows)."""

    def __init__(self, quorum: Quorum, user: DemoUser, screen: Screen, images: Path) -> None:
        super().__init__(quorum, user.telegram_id, self._answer, username=user.name.lower(), name=user.name)
        self.user, self.screen, self.images = user, screen, images
        self.trips = 0  # breaker alerts received
        self.resumed = 0  # breakers reset by pressing Resume
        self.saved: dict[str, Path] = {}  # command -> the image its last answer carried
        self._command = ""
        self._to_resume = False

    def _stamp(self) -> str:
        return when(self.quorum.runtime.clock.now_ms())

    def _answer(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.screen.line(INDENT + line)

    async def say(self, text: str) -> None:
        """Type one line, as at the terminal, and show the bot's answer."""
        self.screen.line(f"{self._stamp()}  {self.user.name} > {text}")
        if text.startswith("/"):
            self._command = text.split()[0][1:].lower()
        await self.line(text)

    def photo(self, png: bytes) -> str:
        path = self.images / f"{self.user.name.lower()}-{self._command or 'image'}.png"
        path.write_bytes(png)
        self.saved[self._command] = path
        return f"[image saved to {path}]"

    async def alert(self, chat_id: int, html: str) -> None:
        if chat_id != self.actor.telegram_id:
            return
        first, *rest = html_to_text(html).splitlines() or [""]
        self.screen.line(f"{self._stamp()}  🔔 {self.user.name}: {first}")
        for line in rest:
            self.screen.line(INDENT + line)
        if html.startswith(TRIPPED):
            self.trips += 1
            self._to_resume = self.user.resumes

    async def react(self) -> None:
        """After a breaker alert: /resume, then press Resume if the bot asks for it."""
        if not self._to_resume:
            return
        self._to_resume = False
        self.buttons = []
        await self.say("/resume")
        labels = [button.label for button in self.buttons]
        if "Resume" in labels:
            await self.say(str(labels.index("Resume") + 1))
            self.resumed += 1

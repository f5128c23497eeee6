"""The terminal chat: with no TELEGRAM_BOT_TOKEN, `quorum run` talks to you here through the same router and
handlers as Telegram. Buttons are numbered: type the number to press one. Alerts print as they arrive."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from bot.replies import Button, Reply, html_to_text
from bot.router import Actor

if TYPE_CHECKING:
    from bot.run import Quorum


class ConsoleChat:
    """One person at a terminal, acting as `telegram_id`; `out` is where replies and alerts are written."""

    def __init__(
        self, quorum: Quorum, telegram_id: int, out: Callable[[str], None], *, username: str = "console",
        name: str = "Console",
    ) -> None:  # fmt: skip
        self.quorum, self.out = quorum, out
        self.actor = Actor(telegram_id, username=username, name=name, private_chat=True,
                           is_admin=telegram_id in quorum.settings.admin_telegram_ids)  # fmt: skip
        self.buttons: list[Button] = []

    async def line(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if text.isdigit() and self.buttons:
            index = int(text) - 1
            if not 0 <= index < len(self.buttons):
                self.out(f"There is no button {text}.")
                return
            self.show(await self.quorum.router.press(self.actor, self.buttons[index].data))
            return
        if not text.startswith("/"):
            text = "/" + text  # at a terminal the slash is optional
        self.show(await self.quorum.router.text(self.actor, text))

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.out(reply.text)
            if reply.photo is not None:
                self.out(self.photo(reply.photo))
            if reply.buttons:
                self.buttons = [button for row in reply.buttons for button in row]
                self.out("  ".join(f"[{i}] {b.label}" for i, b in enumerate(self.buttons, start=1)))

    def photo(self, png: bytes) -> str:
        """What the terminal shows for an image reply (a chart)."""
        return f"[an image of {len(png)} bytes: Telegram shows it]"

    async def alert(self, chat_id: int, html: str) -> None:
        if chat_id == self.actor.telegram_id:
            self.out("🔔 " + html_to_text(html))


async def run_console(quorum: Quorum, stop: asyncio.Event, stdin: TextIO = sys.stdin) -> None:
    chat = ConsoleChat(quorum, quorum.settings.console_telegram_id, print)
    await quorum.start_sender(chat.alert)
    print("Quorum console. Type /start, then /connect paper 10000, /addpair BTC/USDT 1000, /help. Ctrl-D quits.")
    lines = _read_lines(stdin)
    while not stop.is_set():
        reading: asyncio.Future[Any] = asyncio.ensure_future(lines.get())
        stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([reading, stopped], return_when=asyncio.FIRST_COMPLETED)
        if stopped in done:
            reading.cancel()
            break
        stopped.cancel()
        text = reading.result()
        if text == "":  # end of input
            break
        await chat.line(text)


def _read_lines(stdin: TextIO) -> asyncio.Queue[str]:
    """stdin's lines ("" at the end), read by a daemon thread: a process that stops for another reason (a signal,
    the end of a replay) exits without waiting for a line that may never come."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        while True:
            text = stdin.readline()
            try:
                loop.call_soon_threadsafe(lines.put_nowait, text)
            except RuntimeError:  # the loop is closed: nobody reads any more
                return
            if text == "":
                return

    threading.Thread(target=read, name="console stdin", daemon=True).start()
    return lines

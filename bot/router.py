"""Commands and buttons, transport-neutral: parse, check arity, chat type, rights and rate, call the handler,
turn a service refusal into its reply. Telegram and the console both feed text and button data in here, so
both run the same handlers."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape

from loguru import logger

from bot.replies import Reply
from engine.service_errors import ServiceError

MAX_ARGUMENT_CHARS = 512
MAX_TEXT_CHARS = 4096
SECRET_ARGS = {"connect": 1}  # arguments after the first N of these commands are secrets: masked in the audit log
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sent the command, as the transport knows them."""

    telegram_id: int
    username: str | None = None
    name: str | None = None
    private_chat: bool = True
    is_admin: bool = False


Answer = Reply | list[Reply]
Handler = Callable[[Actor, list[str]], Awaitable[Answer]]
Audit = Callable[[int, str, tuple[str, ...]], Awaitable[None]]  # (telegram id, command, masked args)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str  # "/addpair <SYMBOL> <budget> [leverage]"
    summary: str
    handler: Handler
    min_args: int = 0
    max_args: int | None = 0
    private_only: bool = False
    admin: bool = False
    menu: bool = True  # listed in Telegram's command menu


@dataclass(slots=True)
class RateLimit:
    """A token bucket per user: `burst` commands at once, refilled at `per_minute`."""

    burst: int = 8
    per_minute: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _told: set[int] = field(default_factory=set)

    def allow(self, user: int) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(user, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[user] = (tokens, now)
            return False
        self._buckets[user] = (tokens - 1.0, now)
        self._told.discard(user)
        return True

    def first_refusal(self, user: int) -> bool:
        """True once per burst of refusals: the user is told to slow down once, not at every message."""
        if user in self._told:
            return False
        self._told.add(user)
        return True


class Router:
    def __init__(
        self, bot_username: str | None = None, rate: RateLimit | None = None, audit: Audit | None = None
    ) -> None:
        self.commands: dict[str, Command] = {}
        self.audit = audit
        self.buttons: dict[str, Handler] = {}
        self.bot_username = (bot_username or "").lower()
        self.rate = rate or RateLimit()

    def command(self, command: Command) -> None:
        self.commands[command.name] = command

    def button(self, prefix: str, handler: Handler) -> None:
        """Button data is "prefix:arg:arg..."; the handler gets the args."""
        self.buttons[prefix] = handler

    async def text(self, actor: Actor, text: str) -> list[Reply]:
        if not self.rate.allow(actor.telegram_id):
            return [_slow_down()] if self.rate.first_refusal(actor.telegram_id) else []
        if len(text) > MAX_TEXT_CHARS:
            return [Reply("That message is too long for a command.")]
        if _INVISIBLE.search(text):  # never act on text that does not read as it looks
            return [Reply("That message holds control or invisible characters. Type the command again without them.")]
        words = text.split()
        if not words or not words[0].startswith("/"):
            return [Reply("I understand commands only. /help lists them.")]
        name, _, target = words[0][1:].partition("@")
        if target and self.bot_username and target.lower() != self.bot_username:
            return []  # a command for another bot in a group
        command = self.commands.get(name.lower())
        if command is None or (command.admin and not actor.is_admin):  # an admin command is unknown to others
            return [Reply(f"Unknown command {escape(_clip(words[0], 40))}. /help lists the commands.")]
        args = words[1:]
        if command.private_only and not actor.private_chat:
            return [Reply(f"/{command.name} works in a private chat with the bot only: it may carry secrets.")]
        if len(args) < command.min_args or (command.max_args is not None and len(args) > command.max_args):
            return [Reply(f"Usage: {escape(command.usage)}")]
        if any(len(arg) > MAX_ARGUMENT_CHARS for arg in args):
            return [Reply(f"An argument is too long. Usage: {escape(command.usage)}")]
        replies = await self._run(actor, command.handler, args, f"/{command.name}")
        await self._audit(actor, command.name, args)
        return replies

    async def _audit(self, actor: Actor, name: str, args: list[str]) -> None:
        if self.audit is None:
            return
        keep = SECRET_ARGS.get(name)
        shown = tuple(args if keep is None or (args and args[0].lower() == "paper") else
                      [*args[:keep], *("***" for _ in args[keep:])])  # fmt: skip
        try:
            await self.audit(actor.telegram_id, name, shown)
        except Exception:  # noqa: BLE001 - a lost audit row never costs the user the answer
            logger.bind(user=actor.telegram_id).exception("could not write the command to the audit log")

    async def press(self, actor: Actor, data: str) -> list[Reply]:
        if not self.rate.allow(actor.telegram_id):
            return [_slow_down()] if self.rate.first_refusal(actor.telegram_id) else []
        prefix, *args = data.split(":")
        handler = self.buttons.get(prefix)
        if handler is None:
            return [Reply("That button is no longer valid. Send the command again.", edit=True)]
        return await self._run(actor, handler, args, f"button {prefix}")

    async def _run(self, actor: Actor, handler: Handler, args: list[str], what: str) -> list[Reply]:
        try:
            answer = await handler(actor, args)
        except ServiceError as refused:
            return [Reply(escape(refused.message))]
        except Exception:  # noqa: BLE001 - the user gets an answer, the operator the traceback
            logger.bind(user=actor.telegram_id).exception("{} failed", what)
            return [Reply("Something went wrong on our side while doing that. The operator has been told; try again "
                          "in a minute, and check /status to see what stands.")]  # fmt: skip
        return answer if isinstance(answer, list) else [answer]


def _slow_down() -> Reply:
    return Reply("You are sending commands too fast. Wait a few seconds, then try again.")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The Telegram transport: python-telegram-bot v22 feeding commands and button presses into the Router and
sending its Replies. It holds no money or trade state (nothing in user_data); everything goes through the
service. Started beside the engines in one event loop (initialize / start / updater.start_polling)."""

from __future__ import annotations

from collections.abc import Sequence

from loguru import logger
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.alerts import split_message
from bot.replies import Reply
from bot.router import Actor, Router
from bot.update_order import PerUserOrder

CAPTION_LIMIT = 1024
SECRET_COMMANDS = frozenset({"connect"})  # their message is deleted from the chat once read


def build_application(
    token: str, router: Router, *, base_url: str, admin_ids: Sequence[int] = (), rate_limit: bool = True
) -> Application:
    """An Application with the router behind every command, text and button; base_url ends in /bot (PTB appends
    the token), e.g. a self-hosted Bot API server."""
    base_file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
    builder = Application.builder().token(token).base_url(base_url).base_file_url(base_file_url)
    builder = builder.concurrent_updates(PerUserOrder())  # users at once, each user's commands in order
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]  # PTB generics
    app = builder.build()
    transport = TelegramTransport(router, frozenset(admin_ids))
    app.add_handler(MessageHandler(filters.COMMAND, transport.on_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, transport.on_text))
    app.add_handler(CallbackQueryHandler(transport.on_button))
    app.add_error_handler(transport.on_error)
    return app


async def register_commands(app: Application, router: Router) -> None:
    """The command menu (setMyCommands) from the router's commands."""
    commands = [BotCommand(c.name, c.summary[:256]) for c in router.commands.values() if c.menu and not c.admin]
    await app.bot.set_my_commands(commands)


class TelegramTransport:
    def __init__(self, router: Router, admin_ids: frozenset[int]) -> None:
        self.router, self.admin_ids = router, admin_ids

    def actor(self, update: Update) -> Actor | None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return None
        name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
        return Actor(
            telegram_id=user.id, username=user.username, name=name, private_chat=chat.type == ChatType.PRIVATE,
            is_admin=user.id in self.admin_ids,
        )  # fmt: skip

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command: its secrets are deleted from the chat first, then the router answers."""
        message, actor = update.effective_message, self.actor(update)
        if message is None or actor is None or not message.text:
            return
        words = message.text.split()
        name = words[0][1:].partition("@")[0].lower()
        if name in SECRET_COMMANDS and len(words) > 2 and words[1].lower() != "paper":  # a key: out of sight
            try:
                await message.delete()
            except TelegramError as error:
                logger.bind(user=actor.telegram_id).warning("could not delete a message with keys: {}", error)
        replies = await self.router.text(actor, message.text)
        await self.send(context, message.chat_id, replies)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, actor = update.effective_message, self.actor(update)
        if message is None or actor is None:
            return
        await self.send(context, message.chat_id, [Reply("I understand commands only. /help lists them.")])

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, actor = update.callback_query, self.actor(update)
        if query is None:
            return
        await query.answer()
        if actor is None or query.data is None:
            return
        replies = await self.router.press(actor, query.data)
        message = query.message
        chat_id = message.chat.id if message is not None else actor.telegram_id
        if replies and replies[0].edit and message is not None and replies[0].photo is None:
            first, rest = replies[0], replies[1:]
            try:
                await context.bot.edit_message_text(
                    first.html[:4096], chat_id=chat_id, message_id=message.message_id, parse_mode=ParseMode.HTML,
                    reply_markup=_markup(first),
                )  # fmt: skip
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    rest = replies  # the message is gone or too old to edit: send the answer anew
            replies = rest
        await self.send(context, chat_id, replies)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: Sequence[Reply]) -> None:
        for reply in replies:
            markup = _markup(reply)
            if reply.photo is not None:
                caption = reply.html if len(reply.html) <= CAPTION_LIMIT else None
                await context.bot.send_photo(
                    chat_id, reply.photo, caption=caption, parse_mode=ParseMode.HTML,
                    reply_markup=markup if caption is not None else None,
                )  # fmt: skip
                if caption is not None:
                    continue
            parts = split_message(reply.html)
            for i, part in enumerate(parts):
                await context.bot.send_message(
                    chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup if i == len(parts) - 1 else None,
                )  # fmt: skip

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.opt(exception=context.error).error("Telegram update failed")


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.data) for button in row] for row in reply.buttons]
    )

"""The outbox's Send over python-telegram-bot: HTML, long messages split, Telegram's errors mapped to retry
(unreachable, 5xx, flood control) or give up (blocked, chat gone, a message Telegram cannot parse)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.alerts import split_message
from bot.outbox import DeliveryDeferred, DeliveryRefused, Send


def retry_after_seconds(error: RetryAfter) -> float:
    """PTB gives an int today and a timedelta with PTB_TIMEDELTA=1: accept both."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def telegram_send(bot: Bot) -> Send:
    async def send(chat_id: int, text: str) -> None:
        for part in split_message(text):
            try:
                await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
            except RetryAfter as error:
                raise DeliveryDeferred(f"flood control: {error}", retry_after_seconds(error)) from None
            except Forbidden as error:
                raise DeliveryRefused(f"Telegram refused: {error}") from None
            except BadRequest as error:  # chat not found, unparsable text: resending cannot help
                raise DeliveryRefused(f"Telegram refused: {error}") from None
            except (NetworkError, TelegramError) as error:  # unreachable, timed out, 5xx
                raise DeliveryDeferred(f"Telegram unreachable: {error}") from None

    return send

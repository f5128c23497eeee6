"""The approved entry an engine saves with its pair state before the entry order is sent, so a restart that finds
the order filled can book the round trip with the levels that were approved."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.trading import OrderSide
from domain.vote import Action
from risk import Approved


def approved_json(verdict: Approved) -> dict[str, object]:
    return {
        "action": verdict.action.value, "side": verdict.side.value, "amount": str(verdict.amount),
        "price": str(verdict.price), "notional": str(verdict.notional), "leverage": verdict.leverage,
        "stop_loss": str(verdict.stop_loss), "take_profit": str(verdict.take_profit), "message": verdict.message,
    }  # fmt: skip


def approved_from(data: dict[str, Any]) -> Approved:
    """The approved entry saved (as approved_json) before its order was sent."""
    return Approved(
        action=Action(data["action"]), side=OrderSide(data["side"]), amount=Decimal(data["amount"]),
        price=Decimal(data["price"]), notional=Decimal(data["notional"]), leverage=int(data["leverage"]),
        is_exit=False, reduce_only=False, message=str(data["message"]),
        stop_loss=Decimal(data["stop_loss"]), take_profit=Decimal(data["take_profit"]),
    )  # fmt: skip

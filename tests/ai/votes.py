"""Vote builders and a scripted provider for ensemble tests."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from domain.decision import Action, Decision
from domain.snapshot import MarketSnapshot
from domain.vote import Vote


def vote(
    provider: str,
    action: Action | None,
    confidence: str = "0.7",
    stop_loss: str | None = None,
    take_profit: str | None = None,
) -> Vote:
    if action is None:
        return Vote(provider, "m", None, abstain_reason="timeout")
    if action is Action.BUY:
        stop_loss, take_profit = stop_loss or "90", take_profit or "120"
    if action is Action.SELL:
        stop_loss, take_profit = stop_loss or "110", take_profit or "80"
    return Vote(
        provider,
        "m",
        Decision(
            action,
            Decimal(confidence),
            Decimal(stop_loss) if stop_loss else None,
            Decimal(take_profit) if take_profit else None,
            f"{provider} says {action}",
        ),
    )


class ScriptedProvider:
    """Answers with a fixed vote after an optional delay; counts its calls; can hang until cancelled."""

    def __init__(self, name: str, action: Action | None, delay_s: float = 0.0, hang: bool = False) -> None:
        self.name = name
        self.model = "scripted"
        self._vote = vote(name, action)
        self._delay_s = delay_s
        self._hang = hang
        self.calls = 0
        self.cancelled = False

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        self.calls += 1
        try:
            if self._hang:
                await asyncio.Event().wait()
            await asyncio.sleep(self._delay_s)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self._vote

    async def close(self) -> None:
        return None

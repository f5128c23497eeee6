"""What every offline analyst shares: the provider shape, ATR-based levels and the vote it returns."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from decimal import ROUND_HALF_EVEN, Decimal

from adapters.ai.parsing import AnswerRejected, parse_decision
from adapters.ai.votes import Stopwatch, abstention
from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.snapshot import MarketSnapshot, TimeframeView
from domain.vote import Vote

OFFLINE_VERSION = "offline-v1"
CONFIDENCE_STEP = Decimal("0.01")


class InsufficientData(Exception):
    """Too few candles for this analyst's indicators: it abstains rather than guess."""


class OfflineAnalyst(ABC):
    """A rule-based analyst behind the same port as the LLMs. Subclasses implement assess()."""

    name: str = "offline"
    model: str = OFFLINE_VERSION

    @abstractmethod
    def assess(self, snapshot: MarketSnapshot) -> Decision:
        """A decision for the snapshot; raise InsufficientData when the indicators are not there yet."""

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        watch = Stopwatch()
        try:
            decision = self.assess(snapshot)
            raw = json.dumps(_as_answer(decision))
            decision = parse_decision(raw, snapshot.price, snapshot.position_side)  # same bar as the LLMs
        except InsufficientData as exc:
            return abstention(self.name, self.model, f"insufficient_data: {exc}", prompt_version=OFFLINE_VERSION)
        except AnswerRejected as exc:
            return abstention(self.name, self.model, exc.reason, prompt_version=OFFLINE_VERSION)
        return Vote(
            provider=self.name,
            model=self.model,
            decision=decision,
            raw_answer=raw,
            latency_ms=watch.elapsed_ms,
            prompt_version=OFFLINE_VERSION,
        )

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def base_view(snapshot: MarketSnapshot) -> TimeframeView:
    return snapshot.base


def higher_view(snapshot: MarketSnapshot) -> TimeframeView | None:
    """The longest timeframe other than the base, used as a confirmation filter."""
    others = [view for view in snapshot.timeframes if view.timeframe != snapshot.base_timeframe and view.candles]
    if not others:
        return None
    return max(others, key=lambda view: view.candles[-1].ts - view.candles[0].ts if len(view.candles) > 1 else 0)


def require(value: float | None, what: str) -> float:
    if value is None:
        raise InsufficientData(f"{what} needs more candles")
    return value


def confidence(value: float) -> Decimal:
    clamped = min(max(value, 0.0), 0.95)
    return to_decimal(clamped).quantize(CONFIDENCE_STEP, rounding=ROUND_HALF_EVEN)


def price_step(price: Decimal) -> Decimal:
    """Round levels to the precision the price itself is quoted in, at least cents."""
    exponent = price.normalize().as_tuple().exponent
    places = max(-exponent if isinstance(exponent, int) else 2, 2)
    return Decimal(1).scaleb(-places)


def atr_levels(
    action: Action, price: Decimal, atr: float, stop_atr: float, target_atr: float
) -> tuple[Decimal, Decimal]:
    """(stop_loss, take_profit) at multiples of ATR from the price, on the correct side for the action."""
    step = price_step(price)
    atr_d = to_decimal(atr)
    stop_distance = max(atr_d * to_decimal(stop_atr), step)
    target_distance = max(atr_d * to_decimal(target_atr), step)
    if action is Action.BUY:
        return (price - stop_distance).quantize(step), (price + target_distance).quantize(step)
    return (price + stop_distance).quantize(step), (price - target_distance).quantize(step)


def hold(reasoning: str, conviction: float = 0.5) -> Decision:
    return Decision(Action.HOLD, confidence(conviction), None, None, reasoning)


def _as_answer(decision: Decision) -> dict:
    return {
        "action": decision.action.value,
        "confidence": str(decision.confidence),
        "stop_loss": None if decision.stop_loss is None else str(decision.stop_loss),
        "take_profit": None if decision.take_profit is None else str(decision.take_profit),
        "reasoning": decision.reasoning,
    }

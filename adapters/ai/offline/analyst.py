"""What every offline analyst shares: the provider shape, ATR-based levels and the vote it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps quotes strings with

from adapters.ai.parsing import AnswerRejected, parse_decision
from adapters.ai.votes import Stopwatch, abstention
from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.snapshot import MarketSnapshot, TimeframeView
from domain.trading import PositionSide
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
        return self.vote_now(snapshot)

    def vote_now(self, snapshot: MarketSnapshot) -> Vote:
        """The vote, computed synchronously: what analyse() returns (an ensemble of offline analysts calls this
        directly, without a task or a timeout, as there is nothing to wait for)."""
        watch = Stopwatch()
        try:
            decision = self.assess(snapshot)
            answer = _as_answer(decision)
            raw = answer_text(answer)
            # the same bar as the LLMs: parse_decision of the decoded answer, which is what decoding raw gives
            decision = checked(answer, raw, snapshot.price, snapshot.position_side)
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


_PRICE_FREE = frozenset((Action.HOLD.value, Action.CLOSE.value))  # parse_decision reads no price for these
_CHECKED: OrderedDict[tuple[str, PositionSide], Decision] = OrderedDict()
_CHECKED_MAX = 4096


def checked(answer: dict[str, str | None], raw: str, price: Decimal, side: PositionSide) -> Decision:
    """parse_decision(answer, price, side). A HOLD or CLOSE answer is checked without the price, so the same
    text on the same side always gives the same decision: those (most of the votes, often repeated word for
    word) are checked once and remembered, in a bounded cache. A refused answer raises every time."""
    if answer["action"] not in _PRICE_FREE:
        return parse_decision(answer, price, side)
    key = (raw, side)
    decision = _CHECKED.get(key)
    if decision is None:
        decision = _CHECKED[key] = parse_decision(answer, price, side)
        if len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)
    return decision


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
    return _confidence(repr(clamped))  # to_decimal(clamped) reads a float through its repr too


@lru_cache(maxsize=4096)  # the analysts' convictions are a few constants and sums of them
def _confidence(text: str) -> Decimal:
    return to_decimal(text).quantize(CONFIDENCE_STEP, rounding=ROUND_HALF_EVEN)


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


def answer_text(answer: dict[str, str | None]) -> str:
    """json.dumps(answer) for an answer of strings and None (what _as_answer builds), written directly."""
    return "{" + ", ".join([f"{_quote(key)}: {_json(value)}" for key, value in answer.items()]) + "}"


def _json(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _as_answer(decision: Decision) -> dict[str, str | None]:
    return {
        "action": decision.action.value,
        "confidence": str(decision.confidence),
        "stop_loss": None if decision.stop_loss is None else str(decision.stop_loss),
        "take_profit": None if decision.take_profit is None else str(decision.take_profit),
        "reasoning": decision.reasoning,
    }

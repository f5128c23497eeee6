"""What every offline analyst shares: the provider shape, ATR-based levels and the vote it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps quotes strings with
from time import perf_counter

from adapters.ai.parsing import (
    MAX_REASONING_CHARS,
    SCHEMA_WHITESPACE,
    AbstainReason,
    AnswerRejected,
    answered,
    check_answer,
)
from adapters.ai.votes import abstention
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

    def __init__(self) -> None:
        self._holds = KnownHolds()

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        return self.vote_now(snapshot)

    def vote_now(self, snapshot: MarketSnapshot) -> Vote:
        """The vote, computed synchronously: what analyse() returns (an ensemble of offline analysts calls this
        directly, without a task or a timeout, as there is nothing to wait for)."""
        started = perf_counter()  # the latency as Stopwatch measures it, without the object
        try:
            assessed = self.assess(snapshot)
            known = self._holds.vote_for(assessed)
            if known is None:
                raw = answer_text(assessed)
                # the same bar as the LLMs: what parse_decision gives on the decoded answer (checked() says why)
                decision = checked(assessed, snapshot.price, snapshot.position_side)
        except InsufficientData as exc:
            return abstention(self.name, self.model, f"insufficient_data: {exc}", prompt_version=OFFLINE_VERSION)
        except AnswerRejected as exc:
            return abstention(self.name, self.model, exc.reason, prompt_version=OFFLINE_VERSION)
        latency_ms = int((perf_counter() - started) * 1000)
        if known is not None:
            return known if known.latency_ms == latency_ms else replace(known, latency_ms=latency_ms)
        vote = Vote(self.name, self.model, decision, None, raw, latency_ms, None, None, OFFLINE_VERSION)
        self._holds.remember(assessed, vote)
        return vote

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class KnownHolds:
    """The votes an analyst gave its recent HOLDs, by reasoning and confidence.

    A HOLD without levels has nothing to check against the price or the position: its answer text and checked
    decision, hence its vote (latency aside), follow from its reasoning and confidence alone. Most hours repeat
    one (a position held, the same rounded indicators), and the known vote spares the answer, the check and the
    vote's construction. Equal confidences can be written apart (0.5, 0.50): a known vote serves the same
    Decimal object only, which confidence() hands out for the same conviction. At most `size` votes are kept,
    all dropped when full."""

    __slots__ = ("_size", "_votes")

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._votes: dict[tuple[str, Decimal], tuple[Decimal, Vote]] = {}

    def vote_for(self, assessed: Decision) -> Vote | None:
        if not _plain_hold(assessed):
            return None
        known = self._votes.get((assessed.reasoning, assessed.confidence))
        return known[1] if known is not None and known[0] is assessed.confidence else None

    def remember(self, assessed: Decision, vote: Vote) -> None:
        """Keep the vote given to `assessed` (a vote for anything but a HOLD without levels is not kept)."""
        if not _plain_hold(assessed):
            return
        if len(self._votes) >= self._size:
            self._votes.clear()
        self._votes[assessed.reasoning, assessed.confidence] = assessed.confidence, vote


def _plain_hold(decision: Decision) -> bool:
    return decision.action is Action.HOLD and decision.stop_loss is None and decision.take_profit is None


def checked(decision: Decision, price: Decimal, side: PositionSide) -> Decision:
    """parse_decision(answer_of(decision), price, side), without the trip through the schema: the answer's
    strings are the decision's own Decimals and action written out, which the schema reads back as they were
    (str of a Decimal round-trips exactly); what is left of the schema is stripping the reasoning and refusing
    a number that is not finite.

    What checked_decision would build is a Decision of these very fields when the reasoning comes out of the strip
    and the cut as it went in (an analyst writes it short and trimmed: str.strip and a slice return their string
    itself when they change nothing) and a HOLD or CLOSE carries no levels to drop: then that is `decision` itself,
    an equal frozen object, and building its copy (a tenth of a vote) is skipped."""
    action, confidence, stop, target = decision.action, decision.confidence, decision.stop_loss, decision.take_profit
    if not (confidence.is_finite() and (stop is None or stop.is_finite()) and (target is None or target.is_finite())):
        raise AnswerRejected(AbstainReason.INVALID_SCHEMA, "a number is not finite")
    reasoning = decision.reasoning
    kept = reasoning.strip(SCHEMA_WHITESPACE)[:MAX_REASONING_CHARS]
    check_answer(action, confidence, stop, target, price, side)
    drops_nothing = (stop is None and target is None) or not (action is Action.HOLD or action is Action.CLOSE)
    if kept is reasoning and drops_nothing and decision.__class__ is Decision:
        return decision
    return answered(action, confidence, stop, target, kept)


def higher_view(snapshot: MarketSnapshot) -> TimeframeView | None:
    """The longest timeframe other than the base, used as a confirmation filter."""
    longest, longest_span, base = None, 0, snapshot.base_timeframe
    for view in snapshot.timeframes:  # max() over the others by span: the first of the longest
        candles = view.candles
        if view.timeframe == base or not candles:
            continue
        span = candles[-1].ts - candles[0].ts if len(candles) > 1 else 0
        if longest is None or span > longest_span:
            longest, longest_span = view, span
    return longest


def require(value: float | None, what: str) -> float:
    if value is None:
        raise InsufficientData(f"{what} needs more candles")
    return value


def confidence(value: float) -> Decimal:
    """The conviction clamped to 0..0.95, read as its float's repr (as to_decimal reads a float) and rounded to
    CONFIDENCE_STEP. Cached by the float itself, which skips the clamp and the repr: equal floats write the same
    repr, except 0.0 and -0.0 ("0.00" and "-0.00"), one key that zero never goes to."""
    return _cached_confidence(value) if value else _confidence(value)


def _confidence(value: float) -> Decimal:
    return to_decimal(min(max(value, 0.0), 0.95)).quantize(CONFIDENCE_STEP, rounding=ROUND_HALF_EVEN)


_cached_confidence = lru_cache(maxsize=4096)(_confidence)  # the convictions are a few constants and sums of them


def price_step(price: Decimal) -> Decimal:
    """Round levels to the precision the price itself is quoted in, at least cents."""
    exponent = price.normalize().as_tuple().exponent
    places = max(-exponent if isinstance(exponent, int) else 2, 2)
    return Decimal(1).scaleb(-places)


def atr_levels(
    action: Action, price: Decimal, atr: float, stop_atr: float | Decimal, target_atr: float | Decimal
) -> tuple[Decimal, Decimal]:
    """(stop_loss, take_profit) at multiples of ATR from the price, on the correct side for the action.

    A multiple given as a Decimal is used as it is (to_decimal returns a Decimal unchanged): the analysts pass
    to_decimal of their float constants, converted once at import instead of at every entry signal."""
    step = price_step(price)
    atr_d = to_decimal(atr)
    stop_distance = max(atr_d * to_decimal(stop_atr), step)
    target_distance = max(atr_d * to_decimal(target_atr), step)
    if action is Action.BUY:
        return (price - stop_distance).quantize(step), (price + target_distance).quantize(step)
    return (price + stop_distance).quantize(step), (price - target_distance).quantize(step)


def hold(reasoning: str, conviction: float = 0.5) -> Decision:
    return Decision(Action.HOLD, confidence(conviction), None, None, reasoning)


def answer_text(decision: Decision) -> str:
    """json.dumps(answer_of(decision)), written directly."""
    # the action and a Decimal's str are plain ASCII letters, digits and signs, which JSON quotes as they are
    stop = "null" if decision.stop_loss is None else f'"{decision.stop_loss!s}"'
    target = "null" if decision.take_profit is None else f'"{decision.take_profit!s}"'
    return (
        f'{{"action": "{decision.action.value}", "confidence": "{decision.confidence!s}", "stop_loss": {stop}, '
        f'"take_profit": {target}, "reasoning": {_quote(decision.reasoning)}}}'
    )


def answer_of(decision: Decision) -> dict[str, str | None]:
    """The decision as the answer an LLM would give (its raw text is answer_text)."""
    return {
        "action": decision.action.value,
        "confidence": str(decision.confidence),
        "stop_loss": None if decision.stop_loss is None else str(decision.stop_loss),
        "take_profit": None if decision.take_profit is None else str(decision.take_profit),
        "reasoning": decision.reasoning,
    }

"""Turn an analyst's text into a Decision: tolerant about packaging, strict about numbers.

JSON may arrive bare, inside ```json fences or wrapped in prose. What it says must make sense: confidence
in 0..1, positive prices, and for BUY / SELL both levels present, on the correct side of the current price,
within a factor of MAX_LEVEL_FACTOR of it and written with at most MAX_LEVEL_DIGITS digits.
Anything else raises AnswerRejected with a short reason that the vote records as its abstain_reason.

The wire schema (adapters.ai.parsing_schema, a pydantic model) is imported by the first parse_decision: the offline
analysts build their decisions themselves (checked_decision), so a run without LLMs never builds the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from domain.decision import Action, Decision
from domain.trading import PositionSide

MAX_REASONING_CHARS = 500
_ZERO, _ONE = Decimal(0), Decimal(1)
# A level 10x away from the price is a typo or a hallucination, not a plan; and a float carries at most 17
# significant digits. Within both bounds the consensus averages levels exactly at their own precision.
MAX_LEVEL_FACTOR = Decimal(10)
MAX_LEVEL_DIGITS = 18
# what the schema's str_strip_whitespace strips: Unicode White_Space (str.isspace() also counts \x1c-\x1f)
SCHEMA_WHITESPACE = "".join(
    (*"\t\n\x0b\x0c\r \x85\xa0\u1680", *map(chr, range(0x2000, 0x200B)), *"\u2028\u2029\u202f\u205f\u3000")
)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_REFUSAL = re.compile(
    r"\b(I can(?:no|')t|I cannot|I'm (?:sorry|unable)|I am (?:sorry|unable)|unable to (?:help|provide|assist)"
    r"|not able to (?:help|provide|assist)|as an AI)\b",
    re.IGNORECASE,
)


class AbstainReason:
    MALFORMED_JSON = "malformed_json"
    INVALID_SCHEMA = "invalid_schema"
    OUT_OF_RANGE = "out_of_range"
    CONTRADICTORY = "contradictory"
    REFUSED = "refused"


class AnswerRejected(Exception):
    """The answer cannot become a Decision; reason is one of AbstainReason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in text that looks like a decision (has an "action" key), else the first object.

    The whole text is tried first, then ```json fences in order, then every object embedded in prose.
    """
    first_object: dict[str, Any] | None = None
    for value in _json_objects(text):
        if "action" in value:
            return value
        if first_object is None:
            first_object = value
    if first_object is not None:
        return first_object
    if _REFUSAL.search(text):
        raise AnswerRejected(AbstainReason.REFUSED, "the analyst declined to answer")
    raise AnswerRejected(AbstainReason.MALFORMED_JSON, "no JSON object found in the answer")


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    for candidate in (text.strip(), *(match.strip() for match in _FENCE.findall(text))):
        try:
            value = json.loads(candidate, parse_float=Decimal)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value
    decoder = json.JSONDecoder(parse_float=Decimal)
    for start in (index for index, char in enumerate(text) if char == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def parse_decision(
    answer: str | dict[str, Any], price: Decimal, position_side: PositionSide = PositionSide.FLAT
) -> Decision:
    """Validate an answer (text or an already-decoded object) against the current price and position."""
    from pydantic import ValidationError

    from adapters.ai.parsing_schema import DecisionAnswer

    payload = extract_json_object(answer) if isinstance(answer, str) else answer
    try:
        parsed = DecisionAnswer.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in error["loc"]) or "answer" for error in exc.errors())
        raise AnswerRejected(AbstainReason.INVALID_SCHEMA, f"invalid fields: {fields}") from None
    return checked_decision(
        parsed.action, parsed.confidence, parsed.stop_loss, parsed.take_profit, parsed.reasoning, price, position_side
    )


def checked_decision(
    action: Action,
    confidence: Decimal,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    reasoning: str,
    price: Decimal,
    position_side: PositionSide,
) -> Decision:
    """The checks parse_decision makes once the schema holds: ranges, sides, levels. Code that builds a decision
    itself (the offline analysts) passes its fields here directly, with what the schema would have done to them:
    reasoning stripped, numbers finite."""
    check_answer(action, confidence, stop_loss, take_profit, price, position_side)
    return answered(action, confidence, stop_loss, take_profit, reasoning[:MAX_REASONING_CHARS])


def answered(
    action: Action, confidence: Decimal, stop_loss: Decimal | None, take_profit: Decimal | None, reasoning: str
) -> Decision:
    """The decision a checked answer makes: a HOLD or CLOSE drops its levels, a BUY or SELL keeps them."""
    if action is Action.HOLD or action is Action.CLOSE:
        return Decision(action, confidence, None, None, reasoning)
    return Decision(action, confidence, stop_loss, take_profit, reasoning)


def check_answer(
    action: Action,
    confidence: Decimal,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    price: Decimal,
    position_side: PositionSide,
) -> None:
    """Raise AnswerRejected as checked_decision does for these fields, in the same order; return when they pass
    (the decision then keeps its levels for BUY / SELL and drops them for HOLD / CLOSE, and its reasoning is cut
    to MAX_REASONING_CHARS)."""
    if not _ZERO <= confidence <= _ONE:
        raise AnswerRejected(AbstainReason.OUT_OF_RANGE, f"confidence {confidence} is outside 0..1")
    if stop_loss is not None or take_profit is not None:
        for name, level in (("stop_loss", stop_loss), ("take_profit", take_profit)):
            if level is not None and level <= 0:
                raise AnswerRejected(AbstainReason.OUT_OF_RANGE, f"{name} {level} is not a positive price")
    if action is Action.CLOSE and position_side is PositionSide.FLAT:
        raise AnswerRejected(AbstainReason.CONTRADICTORY, "CLOSE with no open position")
    if action is Action.HOLD or action is Action.CLOSE:
        return
    if stop_loss is None or take_profit is None:
        raise AnswerRejected(AbstainReason.CONTRADICTORY, f"{action} without both stop_loss and take_profit")
    _check_level("stop_loss", stop_loss, price)
    _check_level("take_profit", take_profit, price)
    if action is Action.BUY and not stop_loss < price < take_profit:
        raise AnswerRejected(
            AbstainReason.CONTRADICTORY, f"BUY needs stop_loss < {price} < take_profit, got {stop_loss} / {take_profit}"
        )
    if action is Action.SELL and not take_profit < price < stop_loss:
        raise AnswerRejected(
            AbstainReason.CONTRADICTORY,
            f"SELL needs take_profit < {price} < stop_loss, got {take_profit} / {stop_loss}",
        )


def _check_level(name: str, level: Decimal, price: Decimal) -> None:
    """Bounds for a level the decision keeps (HOLD and CLOSE drop theirs), so the consensus can average it."""
    if not price / MAX_LEVEL_FACTOR <= level <= price * MAX_LEVEL_FACTOR:
        raise AnswerRejected(
            AbstainReason.OUT_OF_RANGE, f"{name} {level} is more than {MAX_LEVEL_FACTOR}x away from the price {price}"
        )
    if len(level.as_tuple().digits) > MAX_LEVEL_DIGITS:
        raise AnswerRejected(AbstainReason.OUT_OF_RANGE, f"{name} {level} has more than {MAX_LEVEL_DIGITS} digits")

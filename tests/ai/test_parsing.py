from decimal import Decimal

import pytest

from adapters.ai.parsing import AbstainReason, AnswerRejected, extract_json_object, parse_decision
from domain.decision import Action
from domain.trading import PositionSide

PRICE = Decimal("100")


def reason_of(answer, position_side: PositionSide = PositionSide.FLAT) -> str:
    with pytest.raises(AnswerRejected) as rejected:
        parse_decision(answer, PRICE, position_side)
    return rejected.value.reason


def test_parse_when_bare_json_then_decimal_levels():
    decision = parse_decision(
        '{"action": "BUY", "confidence": 0.8, "stop_loss": 95.1, "take_profit": 110.7, "reasoning": "up"}', PRICE
    )
    assert decision.action is Action.BUY
    assert decision.confidence == Decimal("0.8")
    assert decision.stop_loss == Decimal("95.1") and decision.take_profit == Decimal("110.7")
    assert decision.reasoning == "up"


def test_parse_when_json_in_code_fence_and_prose_then_decision():
    text = (
        'Here is my view.\n```json\n{"action": "sell", "confidence": "0.6", "stop_loss": 104,\n'
        '"take_profit": 90, "reasoning": "overbought"}\n```\nGood luck!'
    )
    decision = parse_decision(text, PRICE)
    assert decision.action is Action.SELL and decision.take_profit == Decimal("90")


def test_parse_when_json_embedded_in_prose_after_other_braces_then_picks_decision_object():
    text = 'Context {"note": "ignore me"} and my answer: {"action": "HOLD", "confidence": 0.4} thanks'
    decision = parse_decision(text, PRICE)
    assert decision.action is Action.HOLD and decision.stop_loss is None


def test_parse_when_first_fence_is_not_a_decision_then_later_fenced_decision_wins():
    text = (
        'The schema you gave me:\n```json\n{"type": "object"}\n```\nMy answer:\n```json\n'
        '{"action": "SELL", "confidence": 0.6, "stop_loss": 104, "take_profit": 90}\n```'
    )
    decision = parse_decision(text, PRICE)
    assert decision.action is Action.SELL and decision.stop_loss == Decimal("104")


def test_parse_when_fence_is_not_a_decision_but_prose_holds_one_then_prose_decision_wins():
    text = '```json\n{"note": "context"}\n```\nanswer: {"action": "HOLD", "confidence": 0.4}'
    assert parse_decision(text, PRICE).action is Action.HOLD


def test_extract_when_no_object_is_a_decision_then_first_object_so_schema_names_the_gap():
    assert extract_json_object('```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```') == {"a": 1}


@pytest.mark.parametrize(
    ("stop_loss", "take_profit"),
    [("95.10000000000001", "110.70000000000000"), ("10", "1000"), ("95.1234567890123456", "110")],
)
def test_parse_when_levels_carry_float_noise_or_sit_at_the_bounds_then_kept_exactly(stop_loss, take_profit):
    answer = f'{{"action": "BUY", "confidence": 0.7, "stop_loss": {stop_loss}, "take_profit": {take_profit}}}'
    decision = parse_decision(answer, PRICE)
    assert (str(decision.stop_loss), str(decision.take_profit)) == (stop_loss, take_profit)


def test_parse_when_hold_carries_levels_then_levels_dropped():
    decision = parse_decision({"action": "HOLD", "confidence": 0.5, "stop_loss": 1, "take_profit": "1e40"}, PRICE)
    assert decision.stop_loss is None and decision.take_profit is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"action": "BUY", "confidence": 0.8, "stop_loss": 9', AbstainReason.MALFORMED_JSON),
        ("the market looks bullish to me", AbstainReason.MALFORMED_JSON),
        ("I'm sorry, but I can't provide trading advice.", AbstainReason.REFUSED),
        ('{"action": "MOON", "confidence": 0.8}', AbstainReason.INVALID_SCHEMA),
        ('{"confidence": 0.8}', AbstainReason.INVALID_SCHEMA),
        ('{"action": "BUY", "confidence": "high", "stop_loss": 90, "take_profit": 110}', AbstainReason.INVALID_SCHEMA),
        ('{"action": "BUY", "confidence": 85, "stop_loss": 90, "take_profit": 110}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "BUY", "confidence": -0.1, "stop_loss": 90, "take_profit": 110}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": -5, "take_profit": 110}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "HOLD", "confidence": 0.7, "stop_loss": 0}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 105, "take_profit": 110}', AbstainReason.CONTRADICTORY),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 90, "take_profit": 99}', AbstainReason.CONTRADICTORY),
        ('{"action": "SELL", "confidence": 0.7, "stop_loss": 95, "take_profit": 90}', AbstainReason.CONTRADICTORY),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 90}', AbstainReason.CONTRADICTORY),
        ('{"action": "SELL", "confidence": 0.7, "take_profit": 90}', AbstainReason.CONTRADICTORY),
        ('{"action": "CLOSE", "confidence": 0.9}', AbstainReason.CONTRADICTORY),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": NaN, "take_profit": 110}', AbstainReason.INVALID_SCHEMA),
        (
            '{"action": "BUY", "confidence": 0.7, "stop_loss": 90, "take_profit": Infinity}',
            AbstainReason.INVALID_SCHEMA,
        ),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 90, "take_profit": 1e40}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 9.99, "take_profit": 110}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "BUY", "confidence": 0.7, "stop_loss": 1e-40, "take_profit": 110}', AbstainReason.OUT_OF_RANGE),
        ('{"action": "SELL", "confidence": 0.7, "stop_loss": 1000.01, "take_profit": 90}', AbstainReason.OUT_OF_RANGE),
        (
            '{"action": "SELL", "confidence": 0.7, "stop_loss": 100.7600000000000000000000000001, "take_profit": 90}',
            AbstainReason.OUT_OF_RANGE,
        ),
    ],
)
def test_parse_when_answer_is_bad_then_rejected_with_reason(answer, reason):
    assert reason_of(answer) == reason


def test_parse_when_close_with_open_position_then_accepted():
    decision = parse_decision('{"action": "CLOSE", "confidence": 0.9}', PRICE, PositionSide.LONG)
    assert decision.action is Action.CLOSE


def test_parse_when_reasoning_is_long_then_truncated():
    decision = parse_decision({"action": "HOLD", "confidence": 0.5, "reasoning": "x" * 5000}, PRICE)
    assert len(decision.reasoning) == 500


def test_extract_when_no_object_then_malformed():
    with pytest.raises(AnswerRejected) as rejected:
        extract_json_object("[1, 2, 3]")
    assert rejected.value.reason == AbstainReason.MALFORMED_JSON

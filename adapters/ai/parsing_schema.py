"""The wire schema of an analyst's answer (pydantic), used by adapters.ai.parsing.parse_decision: only the LLM
analysts' answers go through it, so it is imported when the first one is parsed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from domain.decision import Action


class DecisionAnswer(BaseModel):
    """The wire schema of an answer. Types are checked here; ranges and sides in parse_decision."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    action: Action
    confidence: Decimal
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reasoning: str = ""

    @field_validator("action", mode="before")
    @classmethod
    def _upper_action(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("reasoning", mode="before")
    @classmethod
    def _text_reasoning(cls, value: Any) -> Any:
        return "" if value is None else value

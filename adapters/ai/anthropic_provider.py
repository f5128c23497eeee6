"""Claude as an analyst. Structured output through a forced tool call whose input schema is the decision;
if the model answers in text instead, the text is parsed like any other answer."""

from __future__ import annotations

import asyncio
import json

import anthropic

from adapters.ai.prompt import DECISION_JSON_SCHEMA, PROMPT_VERSION, SYSTEM_PROMPT, build_prompt
from adapters.ai.votes import LLMAbstentions, Stopwatch, sdk_error_reason, vote_from_answer
from domain.snapshot import MarketSnapshot
from domain.vote import Vote

DECISION_TOOL = "submit_decision"
MAX_ANSWER_TOKENS = 600


class AnthropicProvider(LLMAbstentions):
    """One Claude model. analyse never raises."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        max_retries: int = 0,
        name: str = "anthropic",
    ) -> None:
        self.name = name
        self.model = model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        watch = Stopwatch()
        try:
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=MAX_ANSWER_TOKENS,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": build_prompt(snapshot)}],
                tools=[
                    {
                        "name": DECISION_TOOL,
                        "description": "Submit the trading decision for this market snapshot.",
                        "input_schema": DECISION_JSON_SCHEMA,
                    }
                ],
                tool_choice={"type": "tool", "name": DECISION_TOOL},
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is an abstention, never an exception in the cycle
            return self._abstain(sdk_error_reason(exc, anthropic), watch.elapsed_ms)

        prompt_tokens = message.usage.input_tokens if message.usage else None
        completion_tokens = message.usage.output_tokens if message.usage else None
        tool_input = next(
            (block.input for block in message.content if block.type == "tool_use" and block.name == DECISION_TOOL),
            None,
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        if message.stop_reason == "refusal":
            return self._abstain("refused", watch.elapsed_ms, text, prompt_tokens, completion_tokens)
        if isinstance(tool_input, dict):
            answer: str | dict = tool_input
            raw = json.dumps(tool_input, default=str)
        else:
            answer = raw = text
        return vote_from_answer(
            self.name,
            self.model,
            answer,
            snapshot,
            raw_answer=raw,
            latency_ms=watch.elapsed_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_version=PROMPT_VERSION,
        )

    async def close(self) -> None:
        await self._client.close()

"""Analysts behind the OpenAI chat completions API: OpenAI itself, DeepSeek and any compatible server.

Structured output is requested with response_format: a strict json_schema where the server supports it
(OpenAI, Ollama, vLLM, LM Studio), json_object for DeepSeek. The API key lives only inside the SDK client.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat as ResponseFormatParam

from adapters.ai.prompt import DECISION_JSON_SCHEMA, PROMPT_VERSION, SYSTEM_PROMPT, build_prompt
from adapters.ai.votes import LLMAbstentions, Stopwatch, sdk_error_reason, vote_from_answer
from domain.snapshot import MarketSnapshot
from domain.vote import Vote

MAX_ANSWER_TOKENS = 400


class ResponseFormat(StrEnum):
    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"


class OpenAIChatProvider(LLMAbstentions):
    """One model behind a chat completions endpoint. analyse never raises."""

    def __init__(
        self,
        *,
        name: str,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        max_retries: int = 0,
        response_format: ResponseFormat = ResponseFormat.JSON_SCHEMA,
    ) -> None:
        self.name = name
        self.model = model
        self.response_format = response_format
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    def __repr__(self) -> str:
        return f"OpenAIChatProvider(name={self.name!r}, model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        watch = Stopwatch()
        try:
            messages: list[ChatCompletionMessageParam] = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": build_prompt(snapshot)},
            ]
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=self._response_format(),
                temperature=0.2,
                max_tokens=MAX_ANSWER_TOKENS,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is an abstention, never an exception in the cycle
            return self._abstain(sdk_error_reason(exc, openai), watch.elapsed_ms)

        usage = completion.usage
        prompt_tokens = usage.prompt_tokens if usage else None
        completion_tokens = usage.completion_tokens if usage else None
        if not completion.choices:
            return self._abstain("malformed_json", watch.elapsed_ms, "", prompt_tokens, completion_tokens)
        choice = completion.choices[0]
        message = choice.message
        if message.refusal or choice.finish_reason == "content_filter":
            raw = message.refusal or message.content or ""
            return self._abstain("refused", watch.elapsed_ms, raw, prompt_tokens, completion_tokens)
        content = message.content or ""
        return vote_from_answer(
            self.name,
            self.model,
            content,
            snapshot,
            raw_answer=content,
            latency_ms=watch.elapsed_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_version=PROMPT_VERSION,
        )

    async def close(self) -> None:
        await self._client.close()

    def _response_format(self) -> ResponseFormatParam:
        if self.response_format is ResponseFormat.JSON_OBJECT:
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            "json_schema": {"name": "trading_decision", "strict": True, "schema": DECISION_JSON_SCHEMA},
        }

"""A local stand-in for the OpenAI chat completions and Anthropic messages APIs, over real HTTP.

Each request is answered by the Reply registered for its model name, so one server can play a well-behaved
model, a rambling one, a refusing one, a rate-limited one and a hanging one at the same time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.local_http import serve


@dataclass
class Reply:
    """What the fake model does: answer with content / tool input / refusal, fail with a status, or hang."""

    content: str | None = None
    tool_input: dict[str, Any] | None = None
    refusal: str | None = None
    status: int = 200
    hang: bool = False
    after: str | None = None  # answer only once the reply for this other model has been sent
    stop_reason: str | None = None
    usage: tuple[int, int] = (120, 40)
    delay_s: float = 0.0  # a model's latency: the answer leaves this long after the request came


def decision_json(
    action: str = "BUY",
    confidence: float = 0.8,
    stop_loss: Any = None,
    take_profit: Any = None,
    reasoning: str = "test",
) -> str:
    return json.dumps(
        {
            "action": action,
            "confidence": confidence,
            "stop_loss": stop_loss,
            "take_profit": take_profit,
            "reasoning": reasoning,
        }
    )


@dataclass
class FakeLLMServer:
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _sent_events: dict[str, asyncio.Event] = field(default_factory=dict)
    on_request: Callable[[str, dict[str, Any]], None] | None = None
    answer: Callable[[str, dict[str, Any]], Reply | None] | None = None  # (model, body) -> a reply for this request
    respond: Callable[[dict[str, Any]], Reply] | None = None  # set: the reply from the request body, not the model

    async def start(self) -> FakeLLMServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/messages", self._messages)
        self._runner, self.url = await serve(app)
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _reply_for(self, request: web.Request) -> tuple[Reply, dict[str, Any]]:
        body = await request.json()
        self.requests.append((request.path, dict(request.headers), body))
        model = body.get("model", "")
        if self.respond is not None:
            reply = self.respond(body)
        else:
            reply = (self.answer(model, body) if self.answer is not None else None) or self.replies.get(
                model, Reply(status=404)
            )
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.hang:
            await self._release.wait()
        if reply.after is not None:
            await self._sent(reply.after).wait()
            await asyncio.sleep(0.05)  # let the client read that reply first
        self._sent(model).set()
        return reply, body

    def _sent(self, model: str) -> asyncio.Event:
        return self._sent_events.setdefault(model, asyncio.Event())

    async def _chat(self, request: web.Request) -> web.Response:
        reply, body = await self._reply_for(request)
        if reply.status != 200:
            return web.json_response(
                {"error": {"message": "simulated failure", "type": "server_error"}},
                status=reply.status,
                headers={"retry-after": "0"},
            )
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": reply.stop_reason or "stop"}],
                "usage": {
                    "prompt_tokens": reply.usage[0],
                    "completion_tokens": reply.usage[1],
                    "total_tokens": sum(reply.usage),
                },
            }
        )

    async def _messages(self, request: web.Request) -> web.Response:
        reply, body = await self._reply_for(request)
        if reply.status != 200:
            return web.json_response(
                {"type": "error", "error": {"type": "api_error", "message": "simulated"}},
                status=reply.status,
                headers={"retry-after": "0"},
            )
        content: list[dict[str, Any]] = []
        if reply.content is not None:
            content.append({"type": "text", "text": reply.content})
        if reply.tool_input is not None:
            content.append({"type": "tool_use", "id": "toolu_1", "name": "submit_decision", "input": reply.tool_input})
        stop_reason = reply.stop_reason or ("tool_use" if reply.tool_input is not None else "end_turn")
        return web.json_response(
            {
                "id": "msg_test",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {"input_tokens": reply.usage[0], "output_tokens": reply.usage[1]},
            }
        )

"""The real openai SDK over HTTP against a local stand-in for the chat completions API."""

import json
from decimal import Decimal

import pytest

from adapters.ai.openai_provider import OpenAIChatProvider, ResponseFormat
from adapters.ai.prompt import PROMPT_VERSION
from domain.decision import Action
from tests.ai.fake_llm import FakeLLMServer, Reply, decision_json
from tests.ai.market_data import history_snapshot

SNAPSHOT = history_snapshot(5000)
PRICE = SNAPSHOT.price
BUY_JSON = decision_json("BUY", 0.8, str(PRICE - 300), str(PRICE + 600), "breakout with volume")
API_KEY = "sk-test-do-not-echo-123456"


def provider(server: FakeLLMServer, model: str, timeout_s: float = 5.0, **kwargs) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        name="openai", model=model, api_key=API_KEY, base_url=f"{server.url}/v1", timeout_s=timeout_s, **kwargs
    )


async def ask(server: FakeLLMServer, reply: Reply, **kwargs):
    server.replies["model-under-test"] = reply
    analyst = provider(server, "model-under-test", **kwargs)
    try:
        return await analyst.analyse(SNAPSHOT)
    finally:
        await analyst.close()


async def test_analyse_when_valid_answer_then_vote_with_tokens_and_strict_schema(llm_server):
    vote = await ask(llm_server, Reply(content=BUY_JSON, usage=(321, 54)))
    assert vote.action is Action.BUY
    assert vote.decision.stop_loss == PRICE - 300
    assert (vote.prompt_tokens, vote.completion_tokens) == (321, 54)
    assert vote.prompt_version == PROMPT_VERSION and vote.raw_answer == BUY_JSON
    path, headers, body = llm_server.requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["messages"][0]["role"] == "system" and "BTC/USDT" in body["messages"][1]["content"]


async def test_analyse_when_deepseek_style_then_json_object_format_requested(llm_server):
    vote = await ask(llm_server, Reply(content=BUY_JSON), response_format=ResponseFormat.JSON_OBJECT)
    assert vote.action is Action.BUY
    assert llm_server.requests[-1][2]["response_format"] == {"type": "json_object"}


async def test_analyse_when_json_wrapped_in_prose_and_fence_then_vote(llm_server):
    vote = await ask(llm_server, Reply(content=f"My analysis:\n```json\n{BUY_JSON}\n```\nTrade safely."))
    assert vote.action is Action.BUY and vote.decision.confidence == Decimal("0.8")


async def test_analyse_when_malformed_json_then_abstains_malformed_json(llm_server):
    vote = await ask(llm_server, Reply(content='{"action": "BUY", "confidence": 0.8, "stop_loss": '))
    assert vote.abstained and vote.abstain_reason == "malformed_json"
    assert vote.raw_answer.startswith('{"action"')


async def test_analyse_when_confidence_out_of_range_then_abstains_out_of_range(llm_server):
    vote = await ask(llm_server, Reply(content=decision_json("BUY", 1.7, str(PRICE - 300), str(PRICE + 600))))
    assert vote.abstain_reason == "out_of_range"


async def test_analyse_when_levels_on_wrong_side_then_abstains_contradictory(llm_server):
    vote = await ask(llm_server, Reply(content=decision_json("SELL", 0.7, str(PRICE - 300), str(PRICE + 600))))
    assert vote.abstain_reason == "contradictory"


async def test_analyse_when_model_refuses_then_abstains_refused(llm_server):
    vote = await ask(llm_server, Reply(refusal="I can't help with trading decisions."))
    assert vote.abstain_reason == "refused" and "can't help" in vote.raw_answer


@pytest.mark.parametrize("status", [429, 500])
async def test_analyse_when_http_error_then_abstains_with_status(llm_server, status):
    vote = await ask(llm_server, Reply(status=status))
    assert vote.abstain_reason == f"http_{status}"
    assert len(llm_server.requests) == 1  # no hidden retries eating the cycle's time


async def test_analyse_when_server_hangs_then_abstains_timeout_within_budget(llm_server):
    vote = await ask(llm_server, Reply(hang=True), timeout_s=0.3)
    assert vote.abstain_reason == "timeout"
    assert vote.latency_ms < 3000


async def test_analyse_when_server_unreachable_then_abstains_connection_error():
    analyst = OpenAIChatProvider(
        name="openai", model="m", api_key=API_KEY, base_url="http://127.0.0.1:9/v1", timeout_s=2
    )
    vote = await analyst.analyse(SNAPSHOT)
    await analyst.close()
    assert vote.abstain_reason == "connection_error"


async def test_provider_when_printed_or_failing_then_api_key_never_appears(llm_server):
    llm_server.replies["m"] = Reply(status=401)
    analyst = provider(llm_server, "m")
    vote = await analyst.analyse(SNAPSHOT)
    await analyst.close()
    assert API_KEY not in repr(analyst)
    assert API_KEY not in json.dumps([vote.abstain_reason, vote.raw_answer])
    assert vote.abstain_reason == "http_401"

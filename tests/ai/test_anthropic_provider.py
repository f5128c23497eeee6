"""The real anthropic SDK over HTTP against a local stand-in for the messages API."""

from decimal import Decimal

import pytest

from adapters.ai.anthropic_provider import DECISION_TOOL, AnthropicProvider
from domain.decision import Action
from tests.ai.fake_llm import FakeLLMServer, Reply, decision_json
from tests.ai.market_data import history_snapshot

SNAPSHOT = history_snapshot(5000)
PRICE = SNAPSHOT.price
API_KEY = "sk-ant-test-do-not-echo-987654"


async def ask(server: FakeLLMServer, reply: Reply, timeout_s: float = 5.0):
    server.replies["claude-test"] = reply
    analyst = AnthropicProvider(model="claude-test", api_key=API_KEY, base_url=server.url, timeout_s=timeout_s)
    try:
        return await analyst.analyse(SNAPSHOT)
    finally:
        await analyst.close()


async def test_analyse_when_forced_tool_answer_then_vote(llm_server):
    tool_input = {
        "action": "SELL",
        "confidence": 0.66,
        "stop_loss": float(PRICE + 250),
        "take_profit": float(PRICE - 500),
        "reasoning": "lower highs",
    }
    vote = await ask(llm_server, Reply(tool_input=tool_input, usage=(900, 70)))
    assert vote.action is Action.SELL
    assert vote.decision.confidence == Decimal("0.66")
    assert (vote.prompt_tokens, vote.completion_tokens) == (900, 70)
    assert '"lower highs"' in vote.raw_answer
    path, _, body = llm_server.requests[-1]
    assert path == "/v1/messages"
    assert body["tool_choice"] == {"type": "tool", "name": DECISION_TOOL}
    assert body["tools"][0]["input_schema"]["required"][0] == "action"


async def test_analyse_when_text_instead_of_tool_then_text_parsed(llm_server):
    text = "Sure.\n```json\n" + decision_json("HOLD", 0.5, None, None, "chop") + "\n```"
    vote = await ask(llm_server, Reply(content=text))
    assert vote.action is Action.HOLD and vote.raw_answer == text


async def test_analyse_when_malformed_text_then_abstains_malformed_json(llm_server):
    vote = await ask(llm_server, Reply(content="{action: BUY, confidence: high"))
    assert vote.abstain_reason == "malformed_json"


async def test_analyse_when_tool_input_out_of_range_then_abstains_out_of_range(llm_server):
    vote = await ask(
        llm_server,
        Reply(
            tool_input={
                "action": "BUY",
                "confidence": 0.7,
                "stop_loss": 0,
                "take_profit": float(PRICE + 1),
                "reasoning": "",
            }
        ),
    )
    assert vote.abstain_reason == "out_of_range"


async def test_analyse_when_stop_reason_refusal_then_abstains_refused(llm_server):
    vote = await ask(llm_server, Reply(content="I won't do that.", stop_reason="refusal"))
    assert vote.abstain_reason == "refused"


async def test_analyse_when_text_refusal_then_abstains_refused(llm_server):
    vote = await ask(llm_server, Reply(content="I'm sorry, I cannot provide financial advice."))
    assert vote.abstain_reason == "refused"


@pytest.mark.parametrize("status", [429, 500])
async def test_analyse_when_http_error_then_abstains_with_status(llm_server, status):
    vote = await ask(llm_server, Reply(status=status))
    assert vote.abstain_reason == f"http_{status}"


async def test_analyse_when_server_hangs_then_abstains_timeout(llm_server):
    vote = await ask(llm_server, Reply(hang=True), timeout_s=0.3)
    assert vote.abstain_reason == "timeout"


async def test_provider_when_printed_then_api_key_absent(llm_server):
    analyst = AnthropicProvider(model="claude-test", api_key=API_KEY, base_url=llm_server.url)
    assert API_KEY not in repr(analyst) and API_KEY not in str(analyst)
    await analyst.close()

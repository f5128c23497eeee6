import pytest
from pydantic import SecretStr

from adapters.ai.anthropic_provider import AnthropicProvider
from adapters.ai.factory import build_ensemble, build_providers, build_shared_ensemble
from adapters.ai.offline import OfflineAnalyst
from adapters.ai.openai_provider import OpenAIChatProvider, ResponseFormat
from adapters.ai.recorder import InMemoryVoteRecorder
from config.settings import Settings
from tests.ai.market_data import history_snapshot

KEYS = {
    "openai_api_key": SecretStr("sk-openai-secret-1"),
    "anthropic_api_key": SecretStr("sk-ant-secret-2"),
    "deepseek_api_key": SecretStr("sk-deepseek-secret-3"),
    "openai_compatible_base_url": "http://127.0.0.1:11434/v1",
}


def settings(**overrides) -> Settings:
    return Settings(_env_file=None, **overrides)


def test_build_providers_when_no_key_then_exactly_the_offline_analysts():
    providers = build_providers(settings())
    assert [p.name for p in providers] == ["trend", "mean_reversion", "breakout"]
    assert all(isinstance(p, OfflineAnalyst) for p in providers)


async def test_build_shared_ensemble_when_no_key_then_decides_offline():
    shared = build_shared_ensemble(settings(), InMemoryVoteRecorder())
    result = await shared.decide(history_snapshot(5000))
    assert len(result.votes) == 3
    await shared.close()


async def test_build_providers_when_keys_set_then_llms_join_the_offline_analysts():
    providers = build_providers(settings(**KEYS))
    kinds = {p.name: type(p) for p in providers}
    assert kinds["openai"] is OpenAIChatProvider and kinds["anthropic"] is AnthropicProvider
    assert kinds["deepseek"] is OpenAIChatProvider and kinds["openai_compatible"] is OpenAIChatProvider
    deepseek = next(p for p in providers if p.name == "deepseek")
    assert deepseek.response_format is ResponseFormat.JSON_OBJECT
    ensemble = build_ensemble(settings(**KEYS))
    text = repr(ensemble) + repr(providers)
    for secret in ("sk-openai-secret-1", "sk-ant-secret-2", "sk-deepseek-secret-3"):
        assert secret not in text
    for provider in providers:
        await provider.close()


def test_build_ensemble_when_weights_and_thresholds_set_then_carried_into_config():
    ensemble = build_ensemble(settings(ai_min_consensus=3, ai_provider_weights={"trend": 2.0}))
    assert ensemble.config.min_consensus == 3 and ensemble.config.weights == {"trend": 2.0}


def test_build_providers_when_nothing_configured_then_clear_error():
    with pytest.raises(ValueError, match="no AI analysts configured"):
        build_providers(settings(offline_analysts=[]))

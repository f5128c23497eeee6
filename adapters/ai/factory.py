"""Build the ensemble from Settings: LLM analysts whose key is configured, plus the offline analysts.

With no key at all the ensemble is exactly the offline analysts, so the product works out of the box.
A provider's module, and so its SDK (openai, anthropic: about a second each to import), is imported only when
that provider is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.ai.ensemble import Ensemble, EnsembleConfig
from adapters.ai.offline import offline_analyst
from adapters.ai.port import AIProvider, VoteRecorder
from adapters.ai.shared import ConsultationObserver, SharedEnsemble

if TYPE_CHECKING:
    from config.settings import Settings

LLM_SETTINGS = ("openai_api_key", "anthropic_api_key", "deepseek_api_key", "openai_compatible_base_url")
LOCAL_SERVER_API_KEY = "not-needed"  # Ollama / vLLM / LM Studio accept any key, but the SDK insists on one


def configured_llms(settings: Settings) -> list[tuple[str, str]]:
    """(provider, model) of each LLM analyst whose settings are present, in voting order; imports no SDK."""
    found = []
    if settings.openai_api_key is not None:
        found.append(("openai", settings.openai_model))
    if settings.anthropic_api_key is not None:
        found.append(("anthropic", settings.anthropic_model))
    if settings.deepseek_api_key is not None:
        found.append(("deepseek", settings.deepseek_model))
    if settings.openai_compatible_base_url:
        found.append(("openai_compatible", settings.openai_compatible_model))
    return found


def build_providers(settings: Settings) -> list[AIProvider]:
    providers = [_llm(name, settings) for name, _ in configured_llms(settings)]
    providers.extend(offline_analyst(name) for name in settings.offline_analysts)
    if not providers:
        raise ValueError("no AI analysts configured: set an API key or list offline_analysts")
    return providers


def _llm(name: str, settings: Settings) -> AIProvider:
    """The provider `name` (one of configured_llms), its SDK imported now."""
    timeout = settings.ai_provider_timeout_s
    if name == "anthropic":
        from adapters.ai.anthropic_provider import AnthropicProvider

        assert settings.anthropic_api_key is not None
        return AnthropicProvider(
            model=settings.anthropic_model,
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            timeout_s=timeout,
        )
    from adapters.ai.openai_provider import OpenAIChatProvider, ResponseFormat

    if name == "openai":
        assert settings.openai_api_key is not None
        return OpenAIChatProvider(
            name="openai",
            model=settings.openai_model,
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout_s=timeout,
        )
    if name == "deepseek":
        assert settings.deepseek_api_key is not None
        return OpenAIChatProvider(
            name="deepseek",
            model=settings.deepseek_model,
            api_key=settings.deepseek_api_key.get_secret_value(),
            base_url=settings.deepseek_base_url,
            timeout_s=timeout,
            response_format=ResponseFormat.JSON_OBJECT,
        )
    key = settings.openai_compatible_api_key
    return OpenAIChatProvider(
        name="openai_compatible",
        model=settings.openai_compatible_model,
        api_key=key.get_secret_value() if key is not None else LOCAL_SERVER_API_KEY,
        base_url=settings.openai_compatible_base_url,
        timeout_s=timeout,
    )


def ensemble_config(settings: Settings) -> EnsembleConfig:
    return EnsembleConfig(
        min_consensus=settings.ai_min_consensus,
        min_responders=settings.ai_min_responders,
        provider_timeout_s=settings.ai_provider_timeout_s,
        overall_deadline_s=settings.ai_overall_deadline_s,
        weights=dict(settings.ai_provider_weights),
    )


def build_ensemble(settings: Settings) -> Ensemble:
    return Ensemble(build_providers(settings), ensemble_config(settings))


def build_shared_ensemble(
    settings: Settings, recorder: VoteRecorder | None = None, observer: ConsultationObserver | None = None
) -> SharedEnsemble:
    return SharedEnsemble(build_ensemble(settings), recorder, observer=observer)


def analyst_settings(settings: Settings, use_llms: bool) -> Settings:
    """Without use_llms only the offline analysts vote, whatever keys the environment holds (demo, backtest)."""
    return settings if use_llms else settings.model_copy(update=dict.fromkeys(LLM_SETTINGS))

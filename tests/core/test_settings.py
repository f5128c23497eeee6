from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import Settings


def test_settings_when_nothing_configured_then_embedded_sqlite_and_paper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()

    assert settings.database_url == "sqlite+aiosqlite:///quorum.db"
    assert settings.default_mode == "paper"
    assert settings.quorum_master_key is None
    assert settings.breaker_max_consecutive_losses == 3 and settings.breaker_daily_loss_pct == Decimal("0.05")


def test_settings_when_env_and_dotenv_disagree_then_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CYCLE_INTERVAL_MINUTES=15\nRISK_PER_TRADE=0.02\nOPENAI_MODEL=from-dotenv\n")
    monkeypatch.setenv("CYCLE_INTERVAL_MINUTES", "5")
    monkeypatch.delenv("RISK_PER_TRADE", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    settings = Settings()

    assert settings.cycle_interval_minutes == 5
    assert settings.risk_per_trade == Decimal("0.02")
    assert settings.openai_model == "from-dotenv"


def test_settings_when_plain_postgres_url_then_async_driver_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/quorum")
    assert Settings().database_url == "postgresql+asyncpg://u:p@db:5432/quorum"


def test_settings_when_secret_configured_then_repr_hides_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-not-show-0000")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")
    settings = Settings()

    assert "sk-test-should-not-show-0000" not in repr(settings)
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef" not in repr(settings)
    assert settings.openai_api_key.get_secret_value() == "sk-test-should-not-show-0000"


def test_settings_when_provider_weights_finite_then_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_PROVIDER_WEIGHTS", '{"openai": 1.5, "trend": 0, "anthropic": 1e6}')
    assert Settings(_env_file=None).ai_provider_weights == {"openai": 1.5, "trend": 0.0, "anthropic": 1e6}


@pytest.mark.parametrize("weight", ["Infinity", "-Infinity", "1e999", "NaN", "-1"])
def test_settings_when_provider_weight_not_finite_or_negative_then_rejected_with_clear_message(
    monkeypatch: pytest.MonkeyPatch, weight: str
) -> None:
    monkeypatch.setenv("AI_PROVIDER_WEIGHTS", f'{{"trend": 1, "openai": {weight}}}')
    with pytest.raises(ValidationError, match=r"provider weights must be finite numbers >= 0; invalid for: openai="):
        Settings(_env_file=None)


def _example_variables() -> dict[str, str]:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    found = (re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line) for line in example.splitlines())
    return {match[1]: match[2] for match in found if match}


def test_env_example_when_read_then_documents_every_setting_and_nothing_else() -> None:
    documented = set(_example_variables())
    fields = {name.upper() for name in Settings.model_fields}

    assert not fields - documented, f".env.example lacks {sorted(fields - documented)}"
    assert not documented - fields, f".env.example sets unknown variables {sorted(documented - fields)}"


def test_env_example_when_copied_to_dotenv_then_every_value_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("LOG_JSON", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((Path(__file__).parents[2] / ".env.example").read_text())

    settings = Settings()

    assert settings == Settings(_env_file=None)  # the example shows the defaults
    assert settings.log_format == "text" and not settings.log_json


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"LOG_FORMAT": "json"}, "json"),
        ({"LOG_FORMAT": "TEXT"}, "text"),
        ({"LOG_JSON": "true"}, "json"),
        ({"LOG_JSON": "false"}, "text"),
        ({"LOG_JSON": "true", "LOG_FORMAT": "text"}, "text"),  # the new name wins
    ],
)
def test_settings_when_log_format_or_older_log_json_set_then_read(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("LOG_JSON", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    settings = Settings(_env_file=None)

    assert settings.log_format == expected and settings.log_json is (expected == "json")


def test_settings_when_log_format_unknown_then_refused_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="LOG_FORMAT must be text or json"):
        Settings(_env_file=None)

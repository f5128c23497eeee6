from __future__ import annotations

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


def test_env_example_when_read_then_documents_every_setting() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f".env.example lacks {sorted(missing)}"

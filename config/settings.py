"""One settings object for the whole process: environment > .env > defaults.

Per-user and per-pair overrides live in the database (user_pairs.risk_overrides), not here.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.vote import check_weights

DEFAULT_NEWS_FEEDS = (
    "https://www.coindesk.com/arc/outboundfeeds/rss/",
    "https://cointelegraph.com/rss",
    "https://decrypt.co/feed",
    "https://forklog.media/feed/",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # --- storage and secrets ---
    database_url: str = "sqlite+aiosqlite:///quorum.db"
    quorum_master_key: SecretStr | None = None  # base64 of 32 random bytes; needed for live credentials
    log_level: str = "INFO"
    # text (one readable line) or json (one object per line); LOG_JSON=true|false is read as json|text
    log_format: str = Field(default="text", validation_alias=AliasChoices("log_format", "log_json"))

    # --- telegram ---
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"  # PTB appends the token; a self-hosted server
    telegram_webhook_url: str | None = None  # set: receive updates by webhook on telegram_webhook_port; else poll
    telegram_webhook_port: int = 8443
    console_telegram_id: int = 1  # who the terminal chat acts as when no TELEGRAM_BOT_TOKEN is set
    admin_telegram_ids: list[int] = Field(default_factory=list)

    # --- trading cycle ---
    default_mode: str = "paper"
    cycle_interval_minutes: int = 30
    timeframes: list[str] = Field(default_factory=lambda: ["5m", "15m", "1h", "4h"])
    default_exchange: str = "binance"
    paper_start_balance: Decimal = Decimal("10000")
    paper_taker_fee: Decimal = Decimal("0.001")
    paper_maker_fee: Decimal = Decimal("0.001")

    # --- exchange client ---
    exchange_timeout_ms: int = 10_000
    exchange_max_retries: int = 4
    exchange_backoff_base_s: float = 0.5
    exchange_backoff_max_s: float = 8.0

    # --- AI ensemble ---
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-3-5-haiku-latest"
    deepseek_api_key: SecretStr | None = None
    deepseek_base_url: str = "https://api.deepseek.com"
    deepseek_model: str = "deepseek-chat"
    openai_compatible_base_url: str | None = None  # Ollama, vLLM, LM Studio ...
    openai_compatible_api_key: SecretStr | None = None
    openai_compatible_model: str = "llama3.1"
    ai_provider_timeout_s: float = 20.0
    ai_overall_deadline_s: float = 45.0
    ai_min_consensus: int = 2
    ai_min_responders: int = 2
    ai_provider_weights: dict[str, float] = Field(default_factory=dict)
    offline_analysts: list[str] = Field(default_factory=lambda: ["trend", "mean_reversion", "breakout"])

    # --- news ---
    news_feeds: list[str] = Field(default_factory=lambda: list(DEFAULT_NEWS_FEEDS))
    news_ttl_s: int = 600
    news_fetch_timeout_s: float = 5.0
    cryptopanic_token: SecretStr | None = None
    cryptopanic_base_url: str = "https://cryptopanic.com/api/developer/v2"

    # --- risk defaults (overridable per user / pair) ---
    risk_per_trade: Decimal = Decimal("0.01")
    max_leverage: int = 5
    max_position_fraction: Decimal = Decimal("1")
    breaker_max_consecutive_losses: int = 3
    breaker_daily_loss_pct: Decimal = Decimal("0.05")
    breaker_cooldown_minutes: int = 240
    max_spread_fraction: Decimal = Decimal("0.005")
    min_atr_fraction: Decimal = Decimal("0.0005")
    max_atr_fraction: Decimal = Decimal("0.10")
    min_quote_volume: Decimal = Decimal("50000")
    min_stop_fraction: Decimal = Decimal("0.001")
    max_stop_fraction: Decimal = Decimal("0.15")
    max_drawdown_fraction: Decimal = Decimal("0.20")
    min_reward_risk: Decimal = Decimal("1.5")
    min_confidence: Decimal = Decimal("0.6")
    max_trades_per_day: int = 10
    max_open_positions: int = 5

    # --- operations ---
    metrics_port: int = Field(default=9108, ge=0, le=65535)  # /healthz, /readyz, /metrics; 0: any free port

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the plain URLs operators tend to paste and pin the async driver."""
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> str:
        """text | json; the older LOG_JSON's booleans (true/false, 1/0, yes/no) mean json/text."""
        text = str(value).strip().lower()
        if text in ("json", "true", "1", "yes", "on"):
            return "json"
        if text in ("text", "false", "0", "no", "off"):
            return "text"
        raise ValueError(f"LOG_FORMAT must be text or json (got {str(value)[:20]!r})")

    @property
    def log_json(self) -> bool:
        return self.log_format == "json"

    @field_validator("ai_provider_weights")
    @classmethod
    def _finite_weights(cls, value: dict[str, float]) -> dict[str, float]:
        """Infinity, 1e999 (read as infinity), NaN or a negative weight cannot weigh a vote: refuse it at load."""
        check_weights(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

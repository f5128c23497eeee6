"""API credentials for one exchange account, kept out of every repr, log line and error message.

Shared by the database (which stores them encrypted) and the exchange adapters (which sign with them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ExchangeCredentials:
    """Key, secret and (for exchanges such as OKX or KuCoin) a passphrase. repr shows none of them."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.api_key.strip() or not self.secret.strip():
            raise ValueError("an API key and a secret are both required")

    def __repr__(self) -> str:
        return "ExchangeCredentials(<redacted>)"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Every sensitive string, for redacting text that might echo one back."""
        return tuple(value for value in (self.api_key, self.secret, self.password) if value)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text

"""Exponential backoff with jitter for transient failures (network trouble, timeouts, rate limits).

Only the errors the caller names are retried; everything else propagates at once. Sleep and randomness are
injectable so tests run in milliseconds and can see the delays chosen.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loguru import logger

from config.settings import Settings

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """max_retries extra attempts after the first; delay doubles from base_delay_s up to max_delay_s."""

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.exchange_max_retries,
            base_delay_s=settings.exchange_backoff_base_s,
            max_delay_s=settings.exchange_backoff_max_s,
        )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Equal jitter: half the exponential step is fixed, half random, so clients spread out but never hammer."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


async def retry_transient[T](
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    retry_on: tuple[type[BaseException], ...],
    description: str,
    retry_after: Callable[[BaseException], float | None] = lambda error: None,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run operation; on a retry_on error wait and try again, at most policy.max_retries more times.

    retry_after may return the server's own wait hint (HTTP Retry-After); it lengthens the delay, capped at
    policy.max_delay_s so a hostile header cannot stall a trading cycle.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return await operation()
        except retry_on as error:
            if attempt >= policy.max_retries:
                raise
            delay = policy.delay(attempt, rng)
            hint = retry_after(error)
            if hint is not None:
                delay = max(delay, min(hint, policy.max_delay_s))
            attempt += 1
            logger.warning(
                "{} failed ({}); retry {}/{} in {:.2f}s",
                description,
                type(error).__name__,
                attempt,
                policy.max_retries,
                delay,
            )
            await sleep(delay)

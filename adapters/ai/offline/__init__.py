"""Built-in technical analysts: no key, no network, genuinely different logic over the same snapshot."""

from __future__ import annotations

from adapters.ai.offline.analyst import OfflineAnalyst
from adapters.ai.offline.breakout import BreakoutAnalyst
from adapters.ai.offline.mean_reversion import MeanReversionAnalyst
from adapters.ai.offline.trend import TrendFollowingAnalyst

OFFLINE_ANALYSTS: dict[str, type[OfflineAnalyst]] = {
    "trend": TrendFollowingAnalyst,
    "mean_reversion": MeanReversionAnalyst,
    "breakout": BreakoutAnalyst,
}


def offline_analyst(name: str) -> OfflineAnalyst:
    try:
        return OFFLINE_ANALYSTS[name]()
    except KeyError:
        raise ValueError(f"unknown offline analyst {name!r}; choose from {', '.join(OFFLINE_ANALYSTS)}") from None


__all__ = [
    "OFFLINE_ANALYSTS",
    "BreakoutAnalyst",
    "MeanReversionAnalyst",
    "OfflineAnalyst",
    "TrendFollowingAnalyst",
    "offline_analyst",
]

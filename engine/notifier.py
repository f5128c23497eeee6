"""The notifier port, the notifiers the engine ships with (in memory for tests, console for the demo and CLI), and
the counting wrapper `quorum run` puts in front of its outbox for /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from engine.events import EngineEvent, EventKind
from engine.formatting import when

if TYPE_CHECKING:
    from telemetry import Metrics


@runtime_checkable
class Notifier(Protocol):
    """Delivers an event to its user. Must not raise into the engine: a transport failure is its own business."""

    async def notify(self, event: EngineEvent) -> None: ...


class InMemoryNotifier:
    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    async def notify(self, event: EngineEvent) -> None:
        self.events.append(event)

    def kinds(self, user_id: int | None = None) -> list[EventKind]:
        return [e.kind for e in self.events if user_id is None or e.user_id == user_id]


class ConsoleNotifier:
    """One line per event, through `emit` (print by default)."""

    def __init__(self, emit: Callable[[str], None] = print, prefix_user: bool = False) -> None:
        self.emit = emit
        self.prefix_user = prefix_user

    async def notify(self, event: EngineEvent) -> None:
        who = f"[user {event.user_id}] " if self.prefix_user else ""
        self.emit(f"{when(event.at)} {who}{event.message}")


class NullNotifier:
    async def notify(self, event: EngineEvent) -> None:
        return None


class CountingNotifier:
    """Counts every event by kind (quorum_engine_events_total, breaker ones also in quorum_breaker_events_total),
    then hands it on; counted before the inner notifier filters by the user's alert settings. The process's
    metrics (telemetry, prometheus_client) are imported here, not with the module: the engines import this one,
    and a backtest counts nothing."""

    def __init__(self, inner: Notifier) -> None:
        from telemetry import METRICS

        self.inner = inner
        self._metrics: Metrics = METRICS

    async def notify(self, event: EngineEvent) -> None:
        self._metrics.event(event.kind.value)
        await self.inner.notify(event)

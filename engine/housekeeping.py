"""The engine's side of the scheduled jobs (bot/scheduler.py runs them): each one a call into the engines that
already exist, under their step locks, never trading logic of its own.

- breaker cooldowns: an engine whose breaker's cooldown is over runs its monitor now (the monitor reopens the
  breaker and announces it), so the user hears of it at the moment it reopens rather than at the next tick;
- equity snapshots: an account whose engines recorded no equity within the period gets one point, marked to
  market by one of its engines (paused pairs and long cycles leave no gap in the curve /profit reads);
- the heartbeat watchdog is MultiPairManager.restart_silent; the daily summary is engine/daily_summary.py.
"""

from __future__ import annotations

from datetime import datetime

from loguru import logger

from domain.money import ms_to_datetime
from engine.manager import MultiPairManager, PairKey
from engine.pair_engine import PairEngine
from risk import BreakerStatus


def _cooled_down(state: object, now: datetime) -> bool:
    reopens_at = getattr(state, "reopens_at", None)
    return getattr(state, "status", None) is BreakerStatus.OPEN and reopens_at is not None and now >= reopens_at


def breakers_due(engine: PairEngine, now_ms: int) -> bool:
    now = ms_to_datetime(now_ms)
    return _cooled_down(engine.state.breaker, now) or _cooled_down(engine.book.daily_breaker, now)


def _stepped(manager: MultiPairManager, key: PairKey) -> bool:
    """Started (its state loaded and its orders reconciled) and not given up."""
    watch, engine = manager.supervision.get(key), manager.engines.get(key)
    return watch is not None and engine is not None and watch.status != "error" and engine.started


async def _monitor(engine: PairEngine, now_ms: int) -> None:
    await engine.monitor(now_ms)


async def reopen_cooled_breakers(manager: MultiPairManager, now_ms: int) -> list[PairKey]:
    """Run the monitor of every engine with a breaker whose cooldown is over; returns those engines."""
    done = []
    for key, engine in list(manager.engines.items()):
        if not _stepped(manager, key) or not breakers_due(engine, now_ms):
            continue
        try:
            await manager.between_steps(*key, lambda e: _monitor(e, now_ms))
        except KeyError:  # removed meanwhile
            continue
        except Exception:  # noqa: BLE001 - the engine's own next step tries again and reports a crash itself
            logger.bind(user_id=key[0], symbol=key[1]).exception("could not reopen a cooled-down breaker")
            continue
        done.append(key)
    return done


async def _snapshot(engine: PairEngine, now_ms: int) -> None:
    await engine.mark(now_ms)
    if engine.last_equity is not None:
        await engine.store.equity_point(engine.user_id, engine.symbol, engine.last_equity)


async def snapshot_quiet_accounts(manager: MultiPairManager, now_ms: int, every_ms: int) -> list[PairKey]:
    """One equity point per user whose engines recorded none within every_ms (marked by the user's first engine
    that is not in error); returns the engines that recorded one."""
    by_user: dict[int, list[tuple[PairKey, PairEngine]]] = {}
    for key, engine in manager.engines.items():
        by_user.setdefault(key[0], []).append((key, engine))
    done = []
    for engines in by_user.values():
        latest = max((e.last_equity.ts for _, e in engines if e.last_equity is not None), default=None)
        if latest is not None and now_ms - latest < every_ms:
            continue
        runnable = [(key, e) for key, e in engines if _stepped(manager, key) and e.record_equity]
        if not runnable:
            continue
        key, _ = min(runnable, key=lambda item: item[0][1])
        try:
            await manager.between_steps(*key, lambda e: _snapshot(e, now_ms))
        except KeyError:
            continue
        except Exception:  # noqa: BLE001 - a point missed now is taken at the next cycle
            logger.bind(user_id=key[0], symbol=key[1]).exception("could not record an equity snapshot")
            continue
        done.append(key)
    return done

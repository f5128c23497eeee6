"""/profit's and /chart's PNGs drawn in a child process, the default Charts of `quorum run`.

Drawing a chart holds the GIL for about a quarter of a second; in a thread of the bot's process that stalls every
other user's command while it lasts (bench/bench_bot_load.py: 200 users each asking /profit once held the others'
answers for tens of seconds). In a child process it costs the bot's event loop nothing; the charts queue for the
child, one at a time. The child starts at the first chart (spawned, not forked: the bot's process has threads),
and a child that died is replaced at the next chart.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.market import Candle
from engine.charts import TradeMarker, candle_chart, equity_chart


class ChartPool:
    """Charts (bot/commands_profit.py) drawn by `workers` child processes; its calls block a worker thread only."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def equity(self, curve: Sequence[tuple[datetime, Decimal]], *, title: str, starting_balance: Decimal) -> bytes:
        return self._draw(equity_chart, list(curve), title=title, starting_balance=starting_balance)

    def candles(self, candles: Sequence[Candle], markers: Sequence[TradeMarker], *, title: str) -> bytes:
        return self._draw(candle_chart, list(candles), list(markers), title=title)

    def _draw(self, function: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            pool = self._pool
        try:
            return pool.submit(function, *args, **kwargs).result()
        except BrokenProcessPool:
            with self._lock:  # the child died: this chart fails, the next one gets a new child
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

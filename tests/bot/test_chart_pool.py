"""`quorum run` draws /profit's and /chart's PNGs in a child process (bot/chart_pool.py), so a chart never stalls
the bot's event loop: the PNGs are the real ones, a child that died is replaced at the next chart, and closing
leaves no process behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.chart_pool import ChartPool
from domain.market import Candle
from engine.charts import HEIGHT_PX, WIDTH_PX, TradeMarker

PNG = b"\x89PNG\r\n\x1a\n"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_chart_pool_when_drawing_then_a_child_draws_a_dead_child_is_replaced_and_close_leaves_none() -> None:
    curve = [(START + timedelta(hours=n), Decimal(10_000 + 25 * n)) for n in range(48)]
    candles = [
        Candle(int((START + timedelta(hours=n)).timestamp() * 1000), Decimal(100), Decimal(104), Decimal(98),
               Decimal(101 + n % 3), Decimal(5))
        for n in range(30)
    ]  # fmt: skip
    pool = ChartPool()
    try:
        equity = pool.equity(curve, title="Equity (USDT)", starting_balance=Decimal(10_000))
        [child] = multiprocessing.active_children()
        assert child.pid != os.getpid() and equity.startswith(PNG) and _size(equity) == (WIDTH_PX, HEIGHT_PX)

        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        with pytest.raises(Exception, match="terminated abruptly"):  # BrokenProcessPool: this chart is lost
            pool.equity(curve, title="Equity (USDT)", starting_balance=Decimal(10_000))
        marked = pool.candles(candles, [TradeMarker(candles[5].ts, Decimal(101), "entry")], title="BTC/USDT")
        assert marked.startswith(PNG) and _size(marked) == (WIDTH_PX, HEIGHT_PX)  # drawn by a new child
        assert [p.pid for p in multiprocessing.active_children()] != [child.pid]
    finally:
        pool.close()
    assert multiprocessing.active_children() == []

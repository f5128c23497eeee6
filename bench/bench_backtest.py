"""`quorum backtest` over the shipped 2017-2019 BTC/USD hourly candles: where the time of a full run goes.

Prints the start-up (a fresh interpreter importing what a backtest imports), the candle file load, the
in-process run split into loading (file, series, indicators), cycles (per-cycle mean and cycles/s, one
decision an hour through the whole engine) and output files (the chart apart), its trades and final equity,
and the wall and CPU time of the command itself, `quorum backtest --out DIR`, run as a subprocess (start-up
included).

Run: python bench/bench_backtest.py [--start YYYY-MM-DD --end YYYY-MM-DD] [--runs N]
(default: the whole history; no network, no database server). Timings on a shared machine move with its
load: compare against the previous code run right before or after, e.g.
`git archive <commit> | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python bench/bench_backtest.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from loguru import logger

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from config.settings import Settings
from engine.backtest import BacktestOptions, run_backtest


def _line(label: str, value: str) -> None:
    print(f"{label:<52} {value}")


def _wall(command: list[str], runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of each run; with `cpu`, the user + system seconds of each (its child processes included,
    e.g. the chart process of a backtest) are appended to it."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return samples


def _figures(samples: list[float], unit: float = 1.0, suffix: str = "s") -> str:
    scaled = [sample * unit for sample in samples]
    if len(scaled) == 1:
        return f"{scaled[0]:8.3f} {suffix}"
    return f"{statistics.median(scaled):8.3f} {suffix} median (min {min(scaled):.3f}, max {max(scaled):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=None)
    parser.add_argument("--end", type=date.fromisoformat, default=None)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")  # as `quorum backtest` logs

    python = sys.executable
    _line(
        "start-up: python -c 'import engine.backtest'",
        _figures(_wall([python, "-c", "import engine.backtest"], args.runs)),
    )

    loads = []
    for _ in range(args.runs):
        start = time.perf_counter()
        candles = read_candles(shipped_candle_file())
        loads.append(time.perf_counter() - start)
    _line(f"candle file load ({len(candles)} candles)", _figures(loads, 1000, "ms"))

    window = []
    if args.start:
        window += ["--start", args.start.isoformat()]
    if args.end:
        window += ["--end", args.end.isoformat()]
    with tempfile.TemporaryDirectory() as folder:
        phases: dict[str, list[float]] = {}
        cycles, trades, final = 0, 0, Decimal(0)
        for run in range(args.runs):
            options = BacktestOptions(
                data=shipped_candle_file(), out=Path(folder) / f"run{run}", start=args.start, end=args.end
            )
            result = asyncio.run(run_backtest(options, Settings(_env_file=None)))
            cycles, trades, final = result.cycles, len(result.trades), result.final_equity
            for name, seconds in result.seconds.items():
                phases.setdefault(name, []).append(seconds)
        _line("in-process: load (file, series, indicators)", _figures(phases["load"]))
        per_cycle = [seconds / cycles for seconds in phases["run"]]
        _line(f"in-process: {cycles} cycles", _figures(phases["run"]))
        _line("in-process: per-cycle mean", _figures(per_cycle, 1e6, "us"))
        _line("in-process: cycles/s", f"{cycles / statistics.median(phases['run']):8.0f}")
        _line("in-process: metrics (engine.metrics over the curve)", _figures(phases["metrics"], 1000, "ms"))
        _line("in-process: equity.png (series, hand-over, wait for the chart)", _figures(phases["chart"], 1000, "ms"))
        _line("in-process: metrics.json, trades.csv, equity.csv", _figures(phases["files"], 1000, "ms"))
        _line("in-process: run_backtest total", _figures(phases["total"]))

        _line("in-process: trades, final equity", f"{trades:8d}   {final}")

        quorum = str(Path(python).with_name("quorum"))
        command = [quorum, "backtest", "--out", str(Path(folder) / "cli"), *window]
        cpu: list[float] = []
        walls = _wall(command, args.runs, cpu)
        shown = " ".join(["quorum", *command[1:3], "DIR", *window])
        _line(f"wall: {shown}", _figures(walls))
        _line("cpu (user + sys, the chart process included)", _figures(cpu))
        _line("per cycle, whole command (wall / cycles)", _figures([wall / cycles for wall in walls], 1e6, "us"))


if __name__ == "__main__":
    main()

"""Instructions a backtest cycle costs, counted by valgrind (callgrind): a figure that does not move with the
machine's load or its speed that day, unlike seconds.

Runs two in-process backtests of the shipped candles under `valgrind --tool=callgrind`, from --start to a
short --fixed-end and from --start to --end, after an import of everything they load (so that no byte code is
compiled inside the measurement), and prints the instructions of each, the difference divided by the extra
cycles (the cost of a cycle, its share of metrics and files included) and the short run's total (the fixed
cost: start-up, load, metrics, files). The chart is drawn in a child process, which callgrind does not follow.

Run: python bench/bench_instructions.py [--start 2018-01-01 --fixed-end 2018-01-07 --end 2018-03-31]
(needs valgrind; each run takes a few minutes). Compare two commits with the same windows: the window's trading
moves the figure (a fortnight with twice the usual trades costs more per cycle).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

RUN = """
import asyncio, sys
from datetime import date
from pathlib import Path
from loguru import logger
from adapters.exchange.candle_file import shipped_candle_file
from config.settings import Settings
from engine.backtest import BacktestOptions, run_backtest
logger.remove()
logger.add(sys.stderr, level="WARNING")
options = BacktestOptions(data=shipped_candle_file(), out=Path(sys.argv[1]), start=date.fromisoformat(sys.argv[2]),
                          end=date.fromisoformat(sys.argv[3]))
result = asyncio.run(run_backtest(options, Settings(_env_file=None)))
print(result.cycles)
"""


def _instructions(folder: Path, start: date, end: date) -> tuple[int, int]:
    """(instructions, cycles) of one in-process backtest under callgrind."""
    out = folder / f"callgrind.{end.isoformat()}"
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, "-c", RUN, str(folder / "run"), start.isoformat(), end.isoformat(),
    ]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=_env())
    cycles = int(done.stdout.split()[-1])
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1)), cycles


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte code cached, as a user's install has it
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 1, 1))
    parser.add_argument("--fixed-end", type=date.fromisoformat, default=date(2018, 1, 7))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2018, 3, 31))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    if not args.start <= args.fixed_end < args.end:
        sys.exit("need --start <= --fixed-end < --end")
    # everything the runs import, compiled to byte code before anything is counted
    subprocess.run([sys.executable, "-c", "import engine.backtest, adapters.ai.offline"], check=True, env=_env())
    with tempfile.TemporaryDirectory() as folder:
        short, short_cycles = _instructions(Path(folder), args.start, args.fixed_end)
        long, long_cycles = _instructions(Path(folder), args.start, args.end)
    extra = long_cycles - short_cycles
    print(f"{'instructions, ' + args.start.isoformat() + '..' + args.fixed_end.isoformat():<52} {short:>16,}")
    print(f"{'instructions, ' + args.start.isoformat() + '..' + args.end.isoformat():<52} {long:>16,}")
    print(f"{'instructions a cycle (' + str(extra) + ' extra cycles)':<52} {(long - short) // extra:>16,}")


if __name__ == "__main__":
    main()

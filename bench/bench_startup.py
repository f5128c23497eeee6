"""Start-up cost of the `quorum` command line: wall time of the help screens, and what the heavy modules cost.

For each command the console script is run once to warm up (so the byte code is compiled and cached), then
--runs more times; the median wall time is printed (budget: `quorum --help` under 1 s). Then every module in
MODULES is imported alone in a fresh interpreter and the wall time of that import printed, and the slowest
imports of `quorum --help` itself are listed (from `-X importtime`), to see what start-up still pays for.

Run: python bench/bench_startup.py [--runs N] [--top N]  (no network, no database)
PYTHONDONTWRITEBYTECODE is removed from the children's environment so .pyc files are written and used.
Timings on a shared machine move with its load: compare against the previous code run right before or after,
e.g. `git archive <commit> | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python bench/bench_startup.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["backtest", "--help"], ["demo", "--help"], ["admin", "--help"])
MODULES = (
    "typer",
    "config.settings",
    "quorum.cli",
    "quorum.demo",
    "engine.backtest",
    "adapters.ai.factory",
    "adapters.exchange.ccxt_live",
    "db.database",
    "openai",
    "anthropic",
    "ccxt.async_support",
    "pandas",
    "pandas_ta",
    "matplotlib.pyplot",
    "sqlalchemy.ext.asyncio",
    "telegram",
)


def child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("COLUMNS", "120")
    return env


def quorum_command() -> list[str]:
    """The installed console script next to this interpreter, as a user runs it; else `python -m quorum.cli`."""
    script = Path(sys.executable).with_name("quorum")
    return [str(script)] if script.exists() else [sys.executable, "-m", "quorum.cli"]


def wall_times(argv: list[str], runs: int) -> list[float]:
    env = child_env()
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)  # warm-up: writes the .pyc files
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def import_report(argv: list[str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, indented name) per line of the -X importtime report of `python -X importtime ARGV`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], env=child_env(), cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():
            rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def module_cost(module: str) -> str:
    """Wall time of `import MODULE` in a fresh interpreter (after a warm-up import), what it adds to a start-up."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, env=child_env(), cwd=ROOT, capture_output=True)  # warm-up
    result = subprocess.run(argv, env=child_env(), cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        return "not importable"
    return f"{float(result.stdout) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (after one warm-up)")
    parser.add_argument("--top", type=int, default=15, help="slowest imports of `quorum --help` to list")
    args = parser.parse_args()

    base = quorum_command()
    print(f"wall time, median of {args.runs} runs after a warm-up ({' '.join(base)}):")
    for command in COMMANDS:
        times = wall_times([*base, *command], args.runs)
        label = "quorum " + " ".join(command)
        print(f"  {label:<22} {statistics.median(times):6.3f} s  (min {min(times):.3f}, max {max(times):.3f})")

    print("\nimport alone, wall time in a fresh interpreter:")
    for module in MODULES:
        print(f"  {module:<30} {module_cost(module)}")

    print(f"\nslowest imports of `quorum --help` (cumulative, top {args.top}):")
    rows = import_report(["-m", "quorum.cli", "--help"])
    for _, cumulative, name in sorted(rows, key=lambda row: row[1], reverse=True)[: args.top]:
        print(f"  {cumulative / 1000:8.1f} ms  {name.strip()}")


if __name__ == "__main__":
    main()

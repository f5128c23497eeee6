"""Scale: N users, each with one pair on one of 5 symbols, stepped by one MultiPairManager in one process.

For each --users count it prints the build time, the wall time of one full cycle of every engine (median of
--cycles cycles after --warmup warm-up ticks), per cycle the market-data calls (the hub's, and the paper
accounts' own reads of the feed), indicator computations, ensemble consultations, orders and positions; then
--monitor-ticks monitor-only ticks one minute apart (the live cadence between two cycles); then memory per
engine. Targets (issue 9): 10,000 engines in one process, one cycle of all of them in under 30 s, under 100 KB
per engine, exchange calls and consultations growing with symbols, not users (10,000 users on 5 symbols: at most
15 consultations a cycle).

Run: python bench/bench_scale.py [--users 1000,10000] [--cycles 3] [--warmup 24] [--memory both]
     [--indicators preloaded|live] [--profile FILE]
No network, no database server; offline analysts only; MemoryEngineStore. The 5 symbols are the shipped BTC/USD
hours shifted in time and scaled in price (bench/scale_world.py). Every tick is a cycle (1h candles, 1h cycle).

Each (users, memory mode) runs in a fresh child process, so one run's heap never inflates the next one's RSS:
- rss: no tracing; the timings come from this run; memory is VmRSS (/proc/self/statm) after gc.collect().
- tracemalloc: the same run traced (slower: its timings are not shown); memory is the traced Python heap, and the
  top allocations by file:line are printed (engines built and warmed up; growth over the cycles; growth over the
  monitor ticks).
Memory per engine is marginal: a --baseline run (100 users) is made too, and per engine = ((memory at a stage -
memory after the shared part) of the N-user run - the same of the baseline run) / (N - baseline), which leaves
out the shared caches built lazily on the first cycles (per-symbol candle terms, indicator rows, snapshots);
"naive" (divided by N, shared lazy caches included) is shown too. The stages: built (before any step), after
cycles (warm-up and measured cycles, decision records kept), no decisions (the store's records dropped: what
keep_decisions=False keeps), no dec./equity (also without the equity points of PairEngine.equity_curve and the
store).

Users differ: balance 1,000-10,000 USDT, budget 10-50% of it, leverage 1-5, risk overrides (the lowest
confidence acted on 0.60-0.75, risk per trade 1-2%), and they join at different warm-up ticks; so at the
measured cycles some are long, some short, some flat. The default first tick (2018-08-03 12:00 UTC) puts a
signal in the measured cycles (2018-08-04 13:00: some BTC users open shorts), so one of them places orders.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger
from scale_feed import NETWORK
from scale_world import HOUR_MS, MINUTE_MS, SYMBOLS, World, build_engine, build_world, offline_settings, user_specs

from adapters.exchange.candle_file import shipped_candle_file
from risk import RiskLimits

PAGE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_START = "2018-08-03T12:00"  # indicators warm; a signal in the measured cycles (see the docstring)
KB = 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def heap(traced: bool) -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] if traced else rss_bytes()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _quiet_logs() -> list[str]:
    """Errors are kept (the first few printed to stderr); crashes are also counted from the supervision."""
    seen: list[str] = []

    def sink(message: Any) -> None:
        seen.append(str(message.record["message"]))
        if len(seen) <= 3:
            sys.stderr.write(str(message))

    logger.remove()
    logger.add(sink, level="ERROR")
    return seen


class GcClock:
    """Time spent in the cyclic garbage collector (gc.callbacks), which a heap of 10,000 engines makes costly."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1 if info.get("generation") == 2 else 0


def _counters(world: World) -> dict[str, int]:
    c = world.hub.counters
    return {
        "hub_exchange_calls": c.exchange_calls,
        "indicator_computations": c.indicator_computations,
        "consultations": world.ensemble.calls,
        "snapshots": c.snapshots,
        "hub_feed_calls": world.hub_feed.network_calls(),
        "paper_feed_calls": world.paper_feed.network_calls(),
        "orders": len(world.store.order_rows),
        "trades_opened": len(world.store.trade_rows),
        "trades_closed": sum(1 for t in world.store.trade_rows if t.close is not None),
        **{f"paper_{name}": n for name, n in world.paper_feed.calls.items()},
    }


def _top(snapshot: tracemalloc.Snapshot, base: tracemalloc.Snapshot, limit: int) -> list[str]:
    root = str(Path(__file__).resolve().parents[1]) + os.sep
    lines = []
    for stat in snapshot.compare_to(base, "lineno")[:limit]:
        frame = stat.traceback[0]
        where = frame.filename.replace(root, "")
        lines.append(f"{stat.size_diff / KB:10.1f} KB {stat.count_diff:9d} blocks  {where}:{frame.lineno}")
    return lines


async def run_child(args: argparse.Namespace) -> dict[str, Any]:
    errors = _quiet_logs()
    traced = args.memory == "tracemalloc"
    users = args.users_one
    start_ms = int(datetime.fromisoformat(args.start).replace(tzinfo=UTC).timestamp() * 1000)
    start_ms -= start_ms % HOUR_MS
    settings = offline_settings()
    limits = RiskLimits.from_settings(settings)
    gc.collect()
    if traced:
        tracemalloc.start(1)
    mem0 = heap(traced)
    t0 = time.perf_counter()
    world = await build_world(args.data, start_ms=start_ms, keep_decisions=True, preload=args.indicators == "preloaded")
    shared_s = time.perf_counter() - t0
    mem_shared = heap(traced)
    snap_shared = tracemalloc.take_snapshot() if traced else None
    t1 = time.perf_counter()
    specs = user_specs(users, args.warmup)
    engines = []
    for spec in specs:
        engines.append(await build_engine(world, spec, limits, settings))
    build_s = time.perf_counter() - t1
    mem_built = heap(traced)
    # users join at different warm-up ticks: every engine is built, each is handed to the manager at its tick
    now = start_ms
    warm_s = []
    for tick in range(args.warmup):
        for spec, engine in zip(specs, engines, strict=True):
            if spec.join_tick == tick:
                world.manager.add(engine)
        t = time.perf_counter()
        await world.step(now)
        warm_s.append(time.perf_counter() - t)
        now += HOUR_MS
    mem_warm = heap(traced)
    snap_warm = tracemalloc.take_snapshot() if traced else None
    profiler = cProfile.Profile() if args.profile else None
    cycles = []
    collector = GcClock()
    for _ in range(args.cycles):
        before = _counters(world)
        gc.collect()
        gc_s, gc2 = collector.seconds, collector.collections
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await world.step(now)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = _counters(world)
        cycle: dict[str, Any] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        cycle.update(ts=now, wall_s=wall, cpu_s=cpu, load=load(), **world.sides())
        cycle.update(gc_s=collector.seconds - gc_s, gc2=collector.collections - gc2)
        cycles.append(cycle)
        now += HOUR_MS
    mem_cycles = heap(traced)
    snap_cycles = tracemalloc.take_snapshot() if traced else None
    decisions = len(world.store.decisions)
    equity_points = len(world.store.equity) + sum(len(e.equity_curve) for e in engines)
    world.store.decisions.clear()
    mem_no_decisions = heap(traced)
    for engine in engines:
        engine.equity_curve.clear()
    world.store.equity.clear()
    mem_no_equity = heap(traced)
    snap_no_equity = tracemalloc.take_snapshot() if traced else None
    # the live cadence between two cycles: a monitor-only step of every engine each minute (MONITOR_TICK_MS)
    monitor: list[dict[str, Any]] = []
    for minute in range(1, args.monitor_ticks + 1):
        before = _counters(world)
        gc.collect()
        gc_s = collector.seconds
        wall = time.perf_counter()
        await world.step(now - HOUR_MS + minute * MINUTE_MS)
        wall = time.perf_counter() - wall
        after = _counters(world)
        row: dict[str, Any] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        row.update(wall_s=wall, gc_s=collector.seconds - gc_s, load=load())
        monitor.append(row)
    mem_monitor = heap(traced)
    snap_monitor = tracemalloc.take_snapshot() if traced else None
    crashes, first_error = world.crashes()
    result: dict[str, Any] = {
        "users": users,
        "engines": len(engines),
        "memory": args.memory,
        "symbols": [symbol for symbol, _ in SYMBOLS],
        "indicators": args.indicators,
        "shared_build_s": shared_s,
        "engines_build_s": build_s,
        "warmup_s": warm_s,
        "cycles": cycles,
        "mem_start": mem0,
        "mem_shared": mem_shared,
        "mem_built": mem_built,
        "mem_warm": mem_warm,
        "mem_cycles": mem_cycles,
        "mem_no_decisions": mem_no_decisions,
        "mem_no_equity": mem_no_equity,
        "monitor": monitor,
        "mem_monitor": mem_monitor,
        "decisions": decisions,
        "equity_points": equity_points,
        "ticks": args.warmup + args.cycles,
        "preloaded_series": len(world.preloaded),
        "preloaded_computations": sum(s.computations for s in world.preloaded),
        "crashes": crashes,
        "first_error": first_error,
        "errors_logged": len(errors),
        "load_end": load(),
    }
    if traced:
        assert snap_shared is not None and snap_warm is not None and snap_cycles is not None
        result["top_engines"] = _top(snap_warm, snap_shared, args.top)
        result["top_growth"] = _top(snap_cycles, snap_warm, args.top)
        if monitor:
            assert snap_no_equity is not None and snap_monitor is not None
            result["top_monitor"] = _top(snap_monitor, snap_no_equity, args.top)
        tracemalloc.stop()
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.dump_stats(args.profile)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        sys.stderr.write(out.getvalue())
    await world.ensemble.close()
    return result


# --- the parent: one child per (users, memory mode), then the tables ---------------------------------------


def spawn(args: argparse.Namespace, users: int, memory: str) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", "--users", str(users), "--memory", memory, "--cycles", str(args.cycles),
        "--warmup", str(args.warmup), "--monitor-ticks", str(args.monitor_ticks), "--start", args.start, "--data",
        str(args.data), "--indicators",
        args.indicators, "--top", str(args.top),
    ]  # fmt: skip
    if args.profile:
        command += ["--profile", f"{args.profile}.{users}.{memory}"]
    print(f"  running {users} users ({memory}), load {load()} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the {users}-user run failed (exit {done.returncode}):\n{done.stdout}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def per_engine(result: dict[str, Any], key: str) -> float:
    return (result[key] - result["mem_shared"]) / result["engines"]


def _fmt_kb(value: float) -> str:
    return f"{value / KB:,.1f} KB"


def _med(cycles: list[dict[str, Any]], key: str) -> float:
    return statistics.median(c[key] for c in cycles)


def _span(cycles: list[dict[str, Any]], key: str) -> str:
    values = [c[key] for c in cycles]
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def print_time(runs: dict[tuple[int, str], dict[str, Any]], users: list[int], timing: str) -> None:
    header = (
        f"{'users':>6} | {'build s':>7} | {'cycle s: median (min-max)':>25} | {'cpu s':>5} | {'ms/engine':>9} | "
        f"{'hub exch. calls':>15} | {'paper feed calls':>16} | {'ind. comp.':>10} | {'consult.':>8} | "
        f"{'long/short/flat':>15} | {'crash':>5} | load 1/5/15 min"
    )
    print(f"Time and work per cycle (the '{timing}' run; counts per cycle, min-max over the measured cycles)")
    print(header)
    print("-" * len(header))
    for n in users:
        r = runs.get((n, timing))
        if r is None:
            continue
        cycles = r["cycles"]
        walls = [c["wall_s"] for c in cycles]
        wall = statistics.median(walls)
        last = cycles[-1]
        build = r["shared_build_s"] + r["engines_build_s"]
        timing_text = f"{wall:.2f} ({min(walls):.2f}-{max(walls):.2f})"
        print(
            f"{n:>6} | {build:>7.2f} | {timing_text:>25} | {_med(cycles, 'cpu_s'):>5.2f} | "
            f"{wall / r['engines'] * 1000:>9.3f} | {_span(cycles, 'hub_exchange_calls'):>15} | "
            f"{_span(cycles, 'paper_feed_calls'):>16} | {_span(cycles, 'indicator_computations'):>10} | "
            f"{_span(cycles, 'consultations'):>8} | {last['long']:>5}/{last['short']}/{last['flat']:<5} | "
            f"{r['crashes']:>5} | {cycles[len(cycles) // 2]['load']}"
        )
    print()
    header = (
        f"{'users':>6} | {'cycle (UTC)':>16} | {'wall s':>6} | {'gc s (gen2)':>11} | {'orders':>6} | "
        f"{'opened':>6} | {'closed':>6} | {'hub calls':>9} | {'hub feed':>8} | "
        f"{'paper feed: ticker/ohlcv/book/funding':>37} | {'snapshots':>9} | {'consult.':>8} | load 1 min"
    )
    print("Each measured cycle (orders placed, round trips opened and closed, calls, snapshots, consultations)")
    print(header)
    print("-" * len(header))
    for n in users:
        r = runs.get((n, timing))
        for c in r["cycles"] if r else ():
            paper = "/".join(str(c.get(f"paper_{m}", 0)) for m in NETWORK)
            gc_text = f"{c['gc_s']:.2f} ({c['gc2']})"
            print(
                f"{n:>6} | {_when(c['ts']):>16} | {c['wall_s']:>6.2f} | {gc_text:>11} | {c['orders']:>6} | "
                f"{c['trades_opened']:>6} | {c['trades_closed']:>6} | {c['hub_exchange_calls']:>9} | "
                f"{c['hub_feed_calls']:>8} | {paper:>37} | {c['snapshots']:>9} | {c['consultations']:>8} | "
                f"{c['load'].split()[0]}"
            )


def print_monitor(runs: dict[tuple[int, str], dict[str, Any]], users: list[int], timing: str, base: int) -> None:
    header = (
        f"{'users':>6} | {'ticks':>5} | {'wall s: median (min-max)':>24} | {'gc s':>5} | {'hub calls':>9} | "
        f"{'paper feed calls':>16} | {'ticker/ohlcv/book/funding (last tick)':>37} | {'memory growth/engine/tick':>25}"
    )
    print("Monitor-only ticks, 1 min apart (the live cadence between cycles: MONITOR_TICK_MS), after the cycles")
    print(header)
    print("-" * len(header))
    for n in users:
        for mode in ("rss", "tracemalloc"):
            r = runs.get((n, mode))
            if r is None or not r["monitor"]:
                continue
            ticks = r["monitor"]
            walls = [t["wall_s"] for t in ticks]
            growth = marginal(r, runs.get((base, mode)), tick_growth)
            paper = "/".join(str(ticks[-1].get(f"paper_{m}", 0)) for m in NETWORK)
            timing_text = (
                f"{statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f})" if mode == timing else "-"
            )
            print(
                f"{n:>6} | {len(ticks):>5} | {timing_text:>24} | {_med(ticks, 'gc_s'):>5.2f} | "
                f"{_span(ticks, 'hub_exchange_calls'):>9} | {_span(ticks, 'paper_feed_calls'):>16} | {paper:>37} | "
                f"{_fmt_kb(growth) + ' (' + mode + ')':>25}"
            )


Run = dict[str, Any]


def marginal(r: Run, b: Run | None, delta: Callable[[Run], float]) -> float:
    """Bytes per engine of `delta` (a run's memory figure): over the baseline run when there is one, else naive."""
    if b is None or b is r:
        return delta(r) / r["engines"]
    return (delta(r) - delta(b)) / (r["engines"] - b["engines"])


def stage(key: str) -> Callable[[Run], float]:
    return lambda run: run[key] - run["mem_shared"]


def cycle_growth(run: Run) -> float:
    return (run["mem_cycles"] - run["mem_warm"]) / len(run["cycles"])


def tick_growth(run: Run) -> float:
    return (run["mem_monitor"] - run["mem_no_equity"]) / max(1, len(run["monitor"]))


def print_memory(runs: dict[tuple[int, str], Run], users: list[int], modes: list[str], base: int) -> None:
    header = (
        f"{'users':>6} | {'memory by':>11} | {'shared MB':>9} | {'built':>9} | {'after cycles':>12} | "
        f"{'no decisions':>12} | {'no dec./equity':>14} | {'growth/cycle':>12} | {'naive after cycles':>18} | "
        f"{'process MB':>10}"
    )
    print(f"Memory per engine, marginal: (run of N users - run of {base} users) / (N - {base}), each less its shared")
    print("part, at the same stage; naive: (after cycles - shared part) / N, which counts lazily built shared caches")
    print(header)
    print("-" * len(header))
    for n in users:
        for mode in modes:
            r, b = runs.get((n, mode)), runs.get((base, mode))
            if r is None:
                continue
            kb = [_fmt_kb(marginal(r, b, stage(key))) for key in ("mem_built", "mem_cycles", "mem_no_decisions")]
            print(
                f"{n:>6} | {mode:>11} | {(r['mem_shared'] - r['mem_start']) / KB / KB:>9.1f} | {kb[0]:>9} | "
                f"{kb[1]:>12} | {kb[2]:>12} | {_fmt_kb(marginal(r, b, stage('mem_no_equity'))):>14} | "
                f"{_fmt_kb(marginal(r, b, cycle_growth)):>12} | {_fmt_kb(per_engine(r, 'mem_cycles')):>18} | "
                f"{r['mem_cycles'] / KB / KB:>10.0f}"
            )
    print("built: every engine built, none stepped yet; after cycles: after the warm-up and the measured cycles, with")
    print("the decision records kept; no decisions: the same once the store's decision records are dropped (what")
    print("keep_decisions=False keeps); no dec./equity: also without the equity points (PairEngine.equity_curve and")
    print("the store's equity list); growth/cycle: per engine and measured cycle, decisions and equity points")
    print("included; process MB: the whole process after the cycles (rss: resident set; tracemalloc: traced heap).")
    print("RSS does not fall when objects are freed (the allocator keeps its arenas): the tracemalloc rows tell.")
    for n in users:
        mode = "tracemalloc" if (n, "tracemalloc") in runs else modes[0]
        r, b = runs.get((n, mode)), runs.get((base, mode))
        if r is None:
            continue
        room = 100 * KB - marginal(r, b, stage("mem_cycles"))
        cycle, tick = marginal(r, b, cycle_growth), marginal(r, b, tick_growth)
        if cycle > 0 and room > 0:
            text = f"{n} users ({mode}): at this growth an engine reaches 100 KB after {room / cycle:,.0f} more cycles"
            live_room = 100 * KB - marginal(r, b, stage("mem_no_equity"))
            if tick > 0 and live_room > 0:
                # live (DbEngineStore: no records kept in memory) only PairEngine.equity_curve grows: a point at
                # every mark, i.e. each monitor tick (1 a minute) and once more per cycle (every 30 minutes)
                day = tick * (24 * 60 + 48)
                text += f"; live, +{day / KB:,.0f} KB a day (one point a mark), after {live_room / day * 24:.1f} h"
            print(text)


def print_tables(runs: dict[tuple[int, str], dict[str, Any]], users: list[int], args: argparse.Namespace) -> None:
    modes = sorted({mode for _, mode in runs}, key=["rss", "tracemalloc"].index)
    print()
    print(f"Scale benchmark: {', '.join(symbol for symbol, _ in SYMBOLS)}; one pair per user; 1h cycle, every tick;")
    print(f"first tick {args.start} UTC, {args.warmup} warm-up ticks (users join across them), {args.cycles} measured")
    print(f"cycles; indicators {args.indicators}; offline analysts; MemoryEngineStore; {os.cpu_count()} cores")
    print()
    timing = "rss" if "rss" in modes else modes[0]
    print_time(runs, users, timing)
    print()
    print_monitor(runs, users, timing, args.baseline)
    print()
    print_memory(runs, users, modes, args.baseline)
    print()
    for (n, mode), r in sorted(runs.items()):
        print(
            f"{n} users ({mode}): build shared {r['shared_build_s']:.2f} s ({r['preloaded_series']} indicator series, "
            f"{r['preloaded_computations']} whole-series computations) + engines {r['engines_build_s']:.2f} s; "
            f"warm-up ticks {', '.join(f'{s:.2f}' for s in r['warmup_s'])} s; decisions kept {r['decisions']}, "
            f"equity points {r['equity_points']}; crashes {r['crashes']} {r['first_error'] or ''}; errors logged "
            f"{r['errors_logged']}; load at end {r['load_end']}"
        )
    for (n, _), r in sorted(runs.items()):
        if "top_engines" in r and n in users:
            print(f"\nTop allocations, {n} users: the engines, built and warmed up (vs the shared part)")
            print("\n".join(r["top_engines"]))
            print(f"Top allocations, {n} users: growth over the {len(r['cycles'])} measured cycles")
            print("\n".join(r["top_growth"]))
            if r.get("top_monitor"):
                print(f"Top allocations, {n} users: growth over the {len(r['monitor'])} monitor-only ticks")
                print("\n".join(r["top_monitor"]))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1000,10000", help="comma-separated user counts (default 1000,10000)")
    parser.add_argument("--cycles", type=int, default=3, help="measured cycles after the warm-up (default 3)")
    parser.add_argument("--warmup", type=int, default=24, help="warm-up ticks; users join across them (default 24)")
    parser.add_argument("--memory", choices=("rss", "tracemalloc", "both"), default="both")
    parser.add_argument(
        "--indicators",
        choices=("preloaded", "live"),
        default="preloaded",
        help="preloaded: whole-series rows, as a replay does; live: the hub computes them as candles come",
    )
    parser.add_argument("--start", default=DEFAULT_START, help=f"first tick, a UTC date (default {DEFAULT_START})")
    parser.add_argument("--data", type=Path, default=None, help="candle file (default: the shipped BTC/USD 1h)")
    parser.add_argument(
        "--monitor-ticks", type=int, default=5, help="monitor-only ticks, 1 min apart, after the cycles (default 5)"
    )
    parser.add_argument("--baseline", type=int, default=100, help="users of the run memory is measured against")
    parser.add_argument("--top", type=int, default=15, help="top allocations listed in tracemalloc runs")
    parser.add_argument("--profile", default=None, help="cProfile the measured cycles into FILE.<users>.<mode>")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = shipped_candle_file()
    if args.cycles < 1 or args.warmup < 1:
        parser.error("--cycles and --warmup must be at least 1")
    return args


def main() -> None:
    args = parse()
    users = [int(part) for part in args.users.split(",") if part.strip()]
    if args.child:
        args.users_one = users[0]
        result = asyncio.run(run_child(args))
        print("RESULT " + json.dumps(result))
        return
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}\n$ uptime\n{uptime}", flush=True)
    modes = ["rss", "tracemalloc"] if args.memory == "both" else [args.memory]
    runs = {}
    counts = sorted({*users, args.baseline} - {0}) if args.baseline and args.baseline < max(users) else users
    for n in counts:
        for mode in modes:
            runs[(n, mode)] = spawn(args, n, mode)
    print_tables(runs, users, args)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"\n$ uptime\n{uptime}")


if __name__ == "__main__":
    main()

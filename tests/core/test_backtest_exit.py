"""`quorum backtest` leaves the interpreter's exit collections nothing to walk (quorum.cli_backtest)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_skip_exit_collections_when_the_process_exits_then_the_heap_is_frozen_first() -> None:
    script = textwrap.dedent(
        """
        import atexit, gc
        from quorum.cli_backtest import skip_exit_collections
        left = [[i] for i in range(10_000)]  # a heap the exit collections would walk
        before = gc.get_freeze_count()
        # gc.get_objects() lists the objects the collector would walk, which excludes the frozen ones
        atexit.register(lambda: print("frozen", gc.get_freeze_count() > before + len(left), len(gc.get_objects()) < 10))
        skip_exit_collections()
        skip_exit_collections()  # registered once: the second call replaces the first
        print("still collecting", gc.isenabled(), gc.get_freeze_count() == before)
        """
    )
    # atexit runs its callbacks last in first: the printer registered first runs after gc.freeze
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    assert result.stdout.splitlines() == ["still collecting True True", "frozen True True"]

"""`python -m engine.chart_worker`: draws one equity chart sent on stdin (engine.charts.ChartWorker's child).

It imports matplotlib and draws a throw-away chart as soon as it starts, so a backtest that starts it first
has that done on the other core by the time its equity curve is ready. Input: one JSON line (path, title,
width, height, dpi and the number of points n), then 3 * n float64 in native order (seconds, equity,
drawdown). Output: the PNG at path, then the line "done" on stdout and exit status 0; or exit status 1 with
the reason on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from array import array


def main() -> int:
    from engine.charts import EquitySeries, draw_equity, load_matplotlib

    load_matplotlib()
    # a first figure loads fonts and fills matplotlib's caches (about half of a first chart's time): drawn now,
    # while the parent still runs, the real chart costs what a second one does
    draw_equity(EquitySeries([0.0, 86_400.0], [1.0, 2.0], [0.0, -1.0]), None, title="warm-up")
    header = sys.stdin.buffer.readline()
    if not header:
        return 0  # the parent drew nothing after all
    job = json.loads(header)
    n = int(job["points"])
    values = array("d")
    values.frombytes(sys.stdin.buffer.read(3 * n * values.itemsize))
    if len(values) != 3 * n:
        print(f"chart worker: expected {3 * n} numbers, got {len(values)}", file=sys.stderr)
        return 1
    series = EquitySeries(values[:n].tolist(), values[n : 2 * n].tolist(), values[2 * n :].tolist())
    draw_equity(series, job["path"], title=job["title"], width=job["width"], height=job["height"], dpi=job["dpi"])
    sys.stdout.write("done\n")
    sys.stdout.flush()
    # the PNG is written and closed (draw_equity), and "done" is flushed: nothing is left to do, so the child
    # skips the interpreter's teardown (freeing matplotlib, about 0.1 s) the parent would otherwise wait for
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

"""Where `quorum demo` writes: on a terminal, a Rich console with a progress bar over the simulated time and every
line printed above it as it happens; anywhere else (a pipe, a file, a test) the same lines, plain, and no bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.formatting import when

if TYPE_CHECKING:
    from rich.console import Console

Advance = Callable[[int], None]  # the simulated time the replay has reached, in UTC milliseconds


class Screen:
    """Plain lines to `emit`, or (emit None) to stdout: through Rich with a progress bar on a terminal (or on the
    Rich `console` given)."""

    def __init__(self, emit: Callable[[str], None] | None = None, console: Console | None = None) -> None:
        self._emit = emit
        self._console = console
        if console is None and emit is None and sys.stdout.isatty():
            from rich.console import Console

            self._console = Console(highlight=False, emoji=False, markup=False, soft_wrap=True)

    @property
    def rich(self) -> bool:
        return self._console is not None

    def line(self, text: str = "") -> None:
        if self._console is not None:
            self._console.print(text)
        elif self._emit is not None:
            self._emit(text)
        else:
            print(text, flush=True)

    @contextmanager
    def progress(self, start_ms: int, end_ms: int) -> Iterator[Advance]:
        """A bar from start_ms to end_ms of simulated time; the lines printed meanwhile scroll above it."""
        if self._console is None:
            yield lambda now: None
            return
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        total = max(1, end_ms - start_ms)
        columns = (
            TextColumn("replaying the history"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[at]} UTC"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self._console, transient=True) as bar:
            task = bar.add_task("history", total=total, at=when(start_ms))

            def advance(now: int) -> None:
                bar.update(task, completed=min(total, now - start_ms), at=when(now))

            yield advance

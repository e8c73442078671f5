"""Progress of a run for whoever watches it: bars in a terminal, plain lines in a log, nothing when quiet.

The flow's tasks report through the process-wide reporter; the command line installs the one
that fits where its output goes. A deployment's worker installs none, and reports are dropped.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:  # rich is imported only when bars are drawn; here it is needed for a type alone
    from rich.progress import TaskID


class Reporter(Protocol):
    """Receives the steps of a run's stages (fetching sources, cleaning articles)."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins with `total` steps."""

    def advance(self, stage: str, steps: int = 1) -> None:
        """Steps of a stage are done."""

    def close(self) -> None:
        """The run is over."""


class SilentReporter:
    """Drops every report: for deployments and --quiet."""

    def start(self, stage: str, total: int) -> None:
        """Ignore."""

    def advance(self, stage: str, steps: int = 1) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class LineReporter:
    """One plain line per report, for logs and pipes (no control characters)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, stage: str, total: int) -> None:
        """Print the stage's size."""
        with self._lock:
            self.totals[stage], self.done[stage] = total, 0
            self._line(f"{stage}: 0/{total}")

    def advance(self, stage: str, steps: int = 1) -> None:
        """Print how far the stage has got."""
        with self._lock:
            self.done[stage] = self.done.get(stage, 0) + steps
            self._line(f"{stage}: {self.done[stage]}/{self.totals.get(stage, '?')}")

    def _line(self, text: str) -> None:
        # Written, not printed: a flow with log_prints would turn a print into a log record.
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to tidy."""


class BarReporter:
    """rich progress bars, one per stage, for a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # On the stream that was checked for a terminal (stderr): stdout keeps only the digest's path.
        self.console = Console(file=stream or sys.stderr)
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
            console=self.console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.progress.start()

    def start(self, stage: str, total: int) -> None:
        """Add a bar for the stage."""
        self.tasks[stage] = self.progress.add_task(stage, total=total)

    def advance(self, stage: str, steps: int = 1) -> None:
        """Move the stage's bar."""
        if stage in self.tasks:
            self.progress.advance(self.tasks[stage], steps)

    def close(self) -> None:
        """Stop drawing."""
        self.progress.stop()

    @contextmanager
    def logs_above(self, handlers: Iterable[logging.Handler]) -> Iterator[None]:
        """Handlers that print through a rich console (Prefect's) print warnings above the bars while they are drawn.

        Their own console would write over the bars' lines, and the bars would be drawn again below. Their
        INFO lines (each task's state) are left to the run's log on the Prefect server: the bars say as much.
        """
        swapped: list[tuple[Any, Any, int]] = []
        for handler in handlers:
            own = getattr(handler, "console", None)
            if own is not None and hasattr(own, "print"):
                swapped.append((handler, own, handler.level))
                handler.console = self.console  # type: ignore[attr-defined]
                handler.setLevel(max(handler.level, logging.WARNING))
        try:
            yield
        finally:
            for handler, own, level in swapped:
                handler.console = own
                handler.setLevel(level)


_current: Reporter = SilentReporter()


def reporter() -> Reporter:
    """The process-wide reporter."""
    return _current


def install(new: Reporter) -> Reporter:
    """Make `new` the process-wide reporter; returns the previous one."""
    global _current
    previous, _current = _current, new
    return previous


def for_terminal(stream: TextIO, quiet: bool) -> Reporter:
    """Bars when the stream is a terminal, plain lines when it is not, nothing when quiet."""
    if quiet:
        return SilentReporter()
    return BarReporter(stream) if stream.isatty() else LineReporter(stream)

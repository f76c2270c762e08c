"""Things that watch a fit epoch by epoch: a Rich progress bar."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressBar:
    """a Rich progress bar of epochs and the current loss, shown once a fit has run ``delay`` seconds

    Use it as a context manager around the fit and as one of its callbacks; quick fits
    finish before it appears, so they print nothing.
    """

    def __init__(self, epochs: int, description: str = "fitting", console=None, transient: bool = False,
                 delay: float = 0.5):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=transient,
        )
        self.task = self.progress.add_task(description, total=epochs, loss="…")
        self.delay = delay
        self.started = False
        self._t0 = 0.0

    def __enter__(self) -> "ProgressBar":
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            self.progress.stop()

    def __call__(self, info) -> bool:
        self.progress.update(self.task, completed=info.epoch, loss=f"{info.loss:.6g}")
        if not self.started and time.monotonic() - self._t0 >= self.delay:
            self.progress.start()
            self.started = True
        return False

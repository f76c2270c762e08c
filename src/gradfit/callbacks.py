"""Things that watch a fit epoch by epoch: a Rich progress bar, early stopping on a validation set."""

from __future__ import annotations

import time
from typing import Callable

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


def early_stopping(score: Callable[[], float], patience: int = 5, min_delta: float = 0.0) -> Callable:
    """stop when ``score()`` (lower is better, e.g. a validation loss) has not improved for ``patience`` epochs"""
    best, waited = [float("inf")], [0]

    def callback(info) -> bool:
        value = score()
        if value < best[0] - min_delta:
            best[0], waited[0] = value, 0
        else:
            waited[0] += 1
        return waited[0] >= patience

    return callback

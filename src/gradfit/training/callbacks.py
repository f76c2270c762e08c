"""Things that watch a fit epoch by epoch: a Rich progress bar, a CSV log written as the fit goes.

A callback is any callable taking a ``gradfit.training.train.EpochInfo`` after each epoch (epoch,
step, loss, lr, epochs_total and the history so far); returning True stops the fit there.
Pass them as ``GDRegressor(callbacks=[...])`` or ``gradfit.fit(..., callbacks=[...])``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

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


class CSVLogger:
    """append every recorded history entry to a CSV file as it happens, so a killed fit leaves its history.

    The file is started afresh (header first) by the first epoch of a fit; each later call appends the
    entries recorded since, and flushes, so what is on disk is never more than an epoch behind.

    Examples
    --------
    >>> from gradfit import GDRegressor
    >>> from gradfit.training.callbacks import CSVLogger
    >>> model = GDRegressor(callbacks=[CSVLogger("history.csv")])  # doctest: +SKIP
    """

    def __init__(self, path):
        self.path = Path(path)
        self.written = 0
        self.history = None

    def __call__(self, info) -> bool:
        if info.history is None:
            return False
        if info.history is not self.history:  # a new fit: a new file
            self.history, self.written = info.history, 0
        rows = info.history.to_records(self.written)
        if rows:
            self._append(rows)
            self.written = len(info.history)
        return False

    def _append(self, rows: list[dict]) -> None:
        with open(self.path, "w" if self.written == 0 else "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            if self.written == 0:
                writer.writeheader()
            writer.writerows(rows)

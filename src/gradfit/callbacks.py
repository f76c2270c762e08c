"""Things that watch a fit epoch by epoch: a Rich progress bar, a CSV log written as the fit goes,
TensorBoard scalars.

A callback is any callable taking a ``gradfit.train.EpochInfo`` after each epoch (epoch,
step, loss, lr, epochs_total, the history so far and, with held-out data, the validation
loss); returning True stops the fit there.
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
    >>> from gradfit.callbacks import CSVLogger
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


class TensorBoardWriter:
    """write every recorded history entry to TensorBoard event files in ``logdir`` as it happens.

    Scalars, at the entry's optimizer step: ``loss/training`` (the training objective),
    ``loss/validation`` (with held-out data), ``grad_norm``, ``lr``, ``coef/<feature>`` for each
    coefficient and ``intercept``, all in the data's units. Events are flushed after every
    epoch, so a killed fit leaves what it did; each fit writes a new event file. Needs
    tensorboardX (``pip install "gradfit[tensorboard]"``); view with ``tensorboard --logdir DIR``.

    Examples
    --------
    >>> from gradfit import GDRegressor
    >>> from gradfit.callbacks import TensorBoardWriter
    >>> model = GDRegressor(callbacks=[TensorBoardWriter("runs/first")])  # doctest: +SKIP
    """

    def __init__(self, logdir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            from .errors import OptionError

            raise OptionError('TensorBoardWriter needs the tensorboardX package: pip install "gradfit[tensorboard]"') \
                from None
        self.logdir = Path(logdir)
        self._summary_writer = SummaryWriter
        self.writer = None
        self.written = 0
        self.history = None

    def __call__(self, info) -> bool:
        if info.history is None:
            return False
        if info.history is not self.history:  # a new fit: a new event file
            self.close()
            self.history, self.written = info.history, 0
            self.writer = self._summary_writer(logdir=str(self.logdir))
        history = info.history
        names = history._coef_names()
        for k in range(self.written, len(history)):
            self._write(history[k], names)
        self.written = len(history)
        self.writer.flush()
        return False

    def _write(self, entry, names: list[str]) -> None:
        scalars = {"loss/training": entry.loss, "loss/validation": entry.val_loss, "grad_norm": entry.grad_norm,
                   "lr": entry.lr, **{f"coef/{name}": w for name, w in zip(names, entry.coef)},
                   "intercept": entry.intercept}
        for tag, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(tag, float(value), global_step=int(entry.step))

    def __getstate__(self) -> dict:
        """a copy (scikit-learn's clone, pickling) is a writer to the same folder that has written nothing"""
        return {"logdir": self.logdir}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["logdir"])

    def close(self) -> None:
        """flush and close the event file (a later fit opens a new one)"""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

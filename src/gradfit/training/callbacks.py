"""Things that watch a fit epoch by epoch: a Rich progress bar, a CSV log written as the fit goes,
TensorBoard scalars.

A callback is any callable taking a ``gradfit.training.train.EpochInfo`` after each epoch (epoch,
step, loss, lr, epochs_total, the history so far and, with held-out data, the validation
loss); returning True stops the fit there.
Pass them as ``GDRegressor(callbacks=[...])`` or ``gradfit.fit(..., callbacks=[...])``.
"""

from __future__ import annotations

import abc
import csv
import itertools
import os
import socket
import struct
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

#: numbers this process's event files in the order they are opened
_FILE_COUNT = itertools.count()


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


class HistoryWriter(abc.ABC):
    """a callback that writes each recorded history entry once, as soon as it is recorded: ``_start(info)`` when a
    fit (another History) begins, ``_write(history, first)`` with the entries from index ``first`` on"""

    def __init__(self):
        self.written = 0
        self.history = None

    def __call__(self, info) -> bool:
        if info.history is None:
            return False
        if info.history is not self.history:  # a new fit
            self.history, self.written = info.history, 0
            self._start(info)
        if len(info.history) > self.written:
            self._write(info.history, self.written)
            self.written = len(info.history)
        return False

    def _start(self, info) -> None:
        """a new fit begins (nothing to do by default)"""

    @abc.abstractmethod
    def _write(self, history, first: int) -> None:
        """write the entries of ``history`` from index ``first`` on"""


class CSVLogger(HistoryWriter):
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
        super().__init__()
        self.path = Path(path)

    def _write(self, history, first: int) -> None:
        """the entries from ``first`` on; the first of a fit starts the file afresh, header first"""
        rows = history.to_records(first)
        with open(self.path, "w" if first == 0 else "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            if first == 0:
                writer.writeheader()
            writer.writerows(rows)


class TensorBoardWriter(HistoryWriter):
    """write every recorded history entry to a TensorBoard event file in ``logdir`` as it happens.

    Scalars, at the entry's optimizer step: ``loss/training`` (the training objective),
    ``loss/validation`` (with held-out data), ``grad_norm``, ``lr``, ``coef/<feature>`` for each
    coefficient and ``intercept``, all in the data's units. The file is flushed after every
    epoch (without a disk sync, which would cost milliseconds an epoch), so a killed fit leaves
    what it did; each fit writes a new event file. A fit that takes up a recorded history (``resume``)
    writes the whole history into its new file after a session-start event at the history's first
    step, so TensorBoard drops the earlier file's events instead of drawing the steps twice. The events are TensorBoard's protocol
    buffers from tensorboardX (``pip install "gradfit[tensorboard]"``); view them with
    ``tensorboard --logdir DIR``.

    Examples
    --------
    >>> from gradfit import GDRegressor
    >>> from gradfit.training.callbacks import TensorBoardWriter
    >>> model = GDRegressor(callbacks=[TensorBoardWriter("runs/first")])  # doctest: +SKIP
    """

    def __init__(self, logdir):
        super().__init__()
        try:
            from tensorboardX.proto.event_pb2 import Event, SessionLog
            from tensorboardX.proto.summary_pb2 import Summary
            from tensorboardX.record_writer import masked_crc32c
        except ImportError:
            from ..errors import OptionError

            raise OptionError('TensorBoardWriter needs the tensorboardX package: pip install "gradfit[tensorboard]"') \
                from None
        self._proto = (Event, Summary, masked_crc32c, SessionLog)
        self.logdir = Path(logdir)
        self.file = None

    def _start(self, info) -> None:
        """a new event file; a fit that takes up a recorded history retires the earlier file's events"""
        self._open()
        if info.continued_from is not None:
            self._restart(info.history.step[0])

    def _write(self, history, first: int) -> None:
        names = history._coef_names()
        for k in range(first, len(history)):
            self._write_entry(history[k], names)
        self.file.flush()

    def _open(self) -> None:
        """a new event file, named as TensorBoard's writers name theirs: unique, and in the order written (readers
        take the files in name order, and a resumed fit's session start must come after what it retires)"""
        self.close()
        self.logdir.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{next(_FILE_COUNT):06d}"
        self.file = open(self.logdir / name, "ab")
        self._record(self._proto[0](wall_time=time.time(), file_version="brain.Event:2"))

    def _restart(self, step: int) -> None:
        """TensorBoard's session-start event: readers drop the events of earlier files from ``step`` on"""
        Event, SessionLog = self._proto[0], self._proto[3]
        self._record(Event(wall_time=time.time(), step=int(step), session_log=SessionLog(status=SessionLog.START)))

    def _write_entry(self, entry, names: list[str]) -> None:
        Event, Summary = self._proto[:2]
        scalars = {"loss/training": entry.loss, "loss/validation": entry.val_loss, "grad_norm": entry.grad_norm,
                   "lr": entry.lr, **{f"coef/{name}": w for name, w in zip(names, entry.coef)},
                   "intercept": entry.intercept}
        values = [Summary.Value(tag=tag, simple_value=float(v)) for tag, v in scalars.items() if v is not None]
        self._record(Event(wall_time=time.time(), step=int(entry.step), summary=Summary(value=values)))

    def _record(self, event) -> None:
        """one record of the TFRecord framing: length, its masked CRC-32C, the event, its masked CRC-32C"""
        crc = self._proto[2]
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self.file.write(header + struct.pack("<I", crc(header)) + data + struct.pack("<I", crc(data)))

    def __getstate__(self) -> dict:
        """a copy (scikit-learn's clone, pickling) is a writer to the same folder that has written nothing"""
        return {"logdir": self.logdir}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["logdir"])

    def close(self) -> None:
        """close the event file (a later fit opens a new one)"""
        if self.file is not None:
            self.file.close()
            self.file = None

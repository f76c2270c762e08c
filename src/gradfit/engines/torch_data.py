"""Where the torch engine keeps its data: on the device when it fits, else in pinned host memory.

``DeviceData`` holds X and y on the device for the whole fit. ``HostData`` keeps them
in host memory (page-locked when the device is a GPU) and copies each batch, or each
block of rows for a full pass, to the device with non-blocking copies. Both answer
the same three questions: the rows of one batch, the pieces of one batch (one piece,
or many blocks for a full streamed pass), and all rows block by block. In a weighted
fit y has a second column, the rows' weights, so they travel with their targets.
"""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np
import torch

from ..errors import DataError, OptionError

#: X is streamed from host memory when it would take more than this share of the device's free memory
DEVICE_FRACTION = 0.5
#: rows per block (full passes, Gram statistics) are chosen so a float64 block is about this many bytes
BLOCK_BYTES = 64 * 2**20

KNOWN = "use 'cpu', 'cuda', 'cuda:N' or 'mps'"
DTYPES = {"float32": torch.float32, "float64": torch.float64}

Pair = tuple[torch.Tensor, torch.Tensor]


def resolve_device(name: str) -> torch.device:
    """the torch device called ``name``, or OptionError saying why it cannot be used"""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise OptionError(f"option device={name!r} is not a device name ({KNOWN})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"option device={name!r} is not available: torch.cuda.is_available() is False")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise OptionError(f"option device={name!r} is not available: "
                              f"torch.cuda.device_count() is {torch.cuda.device_count()}")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise OptionError(f"option device={name!r} is not available: "
                              "torch.backends.mps.is_available() is False")
    elif device.type != "cpu":
        raise OptionError(f"option device={name!r} is not supported by engine='torch' ({KNOWN})")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """the torch dtype called ``name``, checked against what ``device`` can compute in"""
    if name not in DTYPES:
        raise OptionError(f"option dtype={name!r} is not one of {list(DTYPES)}")
    if device.type == "mps" and name == "float64":
        raise OptionError("option dtype='float64' is not available on device='mps' (MPS computes in float32); "
                          "use dtype='float32'")
    return DTYPES[name]


def as_tensor(data, dtype: torch.dtype, what: str) -> torch.Tensor:
    """``data`` as a tensor of ``dtype`` (a tensor stays on its device), sharing memory where it can"""
    if isinstance(data, torch.Tensor):
        return data.detach().to(dtype=dtype)
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{what} must be numeric; got values of dtype {array.dtype}")
    if any(s < 0 for s in array.strides):
        array = array.copy()  # torch cannot view memory walked backwards
    with warnings.catch_warnings():
        # torch warns that a read-only array could be written through the tensor; the engine never writes to X
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, dtype=dtype)


def needs_streaming(nbytes: int, free_bytes: int) -> bool:
    """whether data of ``nbytes`` is too large to keep on a device with ``free_bytes`` free"""
    return nbytes > DEVICE_FRACTION * free_bytes


def free_device_bytes(device: torch.device) -> int | None:
    """free memory on a GPU; None for host devices (the data is in host memory already)"""
    if device.type != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return int(free)


def block_rows(n_features: int) -> int:
    """rows per block so that one float64 block of X is about BLOCK_BYTES"""
    return max(1, BLOCK_BYTES // (8 * max(n_features, 1)))


def place(X: torch.Tensor, y: torch.Tensor, device: torch.device, stream: bool | None,
          chunk_rows: int | None) -> "DeviceData | HostData":
    """keep (X, y) on the device, or stream them, by ``stream`` (None: decide from free memory)"""
    rows = chunk_rows or block_rows(X.shape[1])
    if stream is None:
        free = free_device_bytes(device)
        stream = free is not None and needs_streaming(X.nbytes + y.nbytes, free)
    return HostData(X, y, device, rows) if stream else DeviceData(X, y, device, rows)


class DeviceData:
    """X and y resident on the device"""

    streaming = False

    def __init__(self, X: torch.Tensor, y: torch.Tensor, device: torch.device, chunk_rows: int):
        self.X, self.y = X.to(device), y.to(device)
        self.device, self.chunk_rows = device, chunk_rows

    def rows(self, rows) -> Pair:
        """(X, y) of one batch: all rows, a slice, or an array of row indices"""
        if rows is None:
            return self.X, self.y
        if isinstance(rows, slice):
            return self.X[rows], self.y[rows]
        index = torch.as_tensor(rows, device=self.device)
        return self.X.index_select(0, index), self.y.index_select(0, index)

    def pieces(self, rows) -> Iterator[Pair]:
        """the batch in one piece"""
        yield self.rows(rows)

    def blocks(self) -> Iterator[Pair]:
        """all rows, ``chunk_rows`` at a time (views, no copies)"""
        for start in range(0, self.X.shape[0], self.chunk_rows):
            yield self.X[start : start + self.chunk_rows], self.y[start : start + self.chunk_rows]


class HostData:
    """X and y in host memory (page-locked for a GPU); batches are copied over as they are used"""

    streaming = True

    def __init__(self, X: torch.Tensor, y: torch.Tensor, device: torch.device, chunk_rows: int):
        self.pinned = device.type == "cuda"
        X, y = X.cpu(), y.cpu()
        self.X = X.pin_memory() if self.pinned else X
        self.y = y.pin_memory() if self.pinned else y
        self.device, self.chunk_rows = device, chunk_rows
        self._buffers: tuple[torch.Tensor, torch.Tensor] | None = None
        self._copied: torch.cuda.Event | None = None

    def _send(self, X: torch.Tensor, y: torch.Tensor) -> Pair:
        return X.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _gather(self, index: torch.Tensor) -> Pair:
        """rows picked by ``index`` gathered on the host (into a reused pinned buffer for a GPU)"""
        if not self.pinned:
            return self.X.index_select(0, index), self.y.index_select(0, index)
        m = index.shape[0]
        if self._buffers is None or self._buffers[0].shape[0] < m:
            self._buffers = (torch.empty((m, self.X.shape[1]), dtype=self.X.dtype, pin_memory=True),
                             torch.empty((m, *self.y.shape[1:]), dtype=self.y.dtype, pin_memory=True))
        if self._copied is not None:
            self._copied.synchronize()  # the previous batch's copy must leave the buffer before it is refilled
        bx, by = self._buffers[0][:m], self._buffers[1][:m]
        torch.index_select(self.X, 0, index, out=bx)
        torch.index_select(self.y, 0, index, out=by)
        return bx, by

    def rows(self, rows) -> Pair:
        """one batch copied to the device"""
        if rows is None:
            return self._send(self.X, self.y)
        if isinstance(rows, slice):
            return self._send(self.X[rows], self.y[rows])
        pair = self._send(*self._gather(torch.as_tensor(rows)))
        if self.pinned:
            self._copied = torch.cuda.Event()
            self._copied.record()
        return pair

    def pieces(self, rows) -> Iterator[Pair]:
        """a streamed full pass comes block by block; a batch in one piece"""
        if rows is None:
            yield from self.blocks()
        else:
            yield self.rows(rows)

    def blocks(self) -> Iterator[Pair]:
        """all rows, ``chunk_rows`` at a time, each block copied to the device as it is reached"""
        for start in range(0, self.X.shape[0], self.chunk_rows):
            yield self._send(self.X[start : start + self.chunk_rows], self.y[start : start + self.chunk_rows])

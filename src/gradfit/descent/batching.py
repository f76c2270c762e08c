"""Batch orders shared by every engine: full batch, minibatches, single samples.

An epoch's order depends only on (seed, epoch), so a fit split across ``partial_fit``
calls, or run on another engine, walks the rows in exactly the same order.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator

import numpy as np

Rows = "slice | np.ndarray | None"


def epoch_order(n_rows: int, epoch: int, shuffle: bool, seed: int) -> np.ndarray | None:
    """the row order of one epoch: a seeded permutation, or None for 0..n-1"""
    if not shuffle:
        return None
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


class EpochOrders:
    """``epoch_order`` of one fit's rows, epoch after epoch; with ``ahead``, the next epoch's order is drawn on a
    thread of its own while the current epoch runs

    The orders are the same either way (each depends only on seed and epoch). Drawing one costs about
    0.7 reads of X (a permutation of n rows); ahead of time it overlaps the epoch's compiled steps, which
    release the GIL (``gradfit.engines.kernels``). ``close()`` drops an order drawn for an epoch never run.
    """

    def __init__(self, n_rows: int, shuffle: bool, seed: int, ahead: bool = False,
                 first: "tuple[int, Future] | None" = None):
        self.n_rows, self.shuffle, self.seed = n_rows, shuffle, seed
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gradfit-order") if ahead and shuffle else None
        self._next: tuple[int, Future] | None = first  # an order drawn before the loop began (``draw_ahead``)

    def __call__(self, epoch: int, more: bool = False) -> np.ndarray | None:
        """epoch ``epoch``'s order; ``more``: another epoch follows, so draw its order now"""
        pending, self._next = self._next, None
        if pending is not None and pending[0] == epoch:
            order = pending[1].result()
        else:
            order = epoch_order(self.n_rows, epoch, self.shuffle, self.seed)
        if more and self._pool is not None:
            self._next = (epoch + 1, self._pool.submit(epoch_order, self.n_rows, epoch + 1, self.shuffle, self.seed))
        return order

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._next = None


def draw_ahead(n_rows: int, epoch: int, seed: int) -> tuple[int, Future]:
    """(epoch, its shuffled order being drawn on a thread of its own): for ``EpochOrders(first=...)``, so the
    first epoch's order is drawn while the fit prepares (the statistics pass) instead of after it"""
    pool = ThreadPoolExecutor(1, thread_name_prefix="gradfit-order")
    future = pool.submit(epoch_order, n_rows, epoch, True, seed)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return epoch, future


def batches(n_rows: int, batch_size: int | None, order: np.ndarray | None) -> Iterator:
    """row selections of one epoch; the last short batch is kept; None means all rows"""
    if batch_size is None or batch_size >= n_rows:
        yield None
        return
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        yield slice(start, stop) if order is None else order[start:stop]


def n_batches(n_rows: int, batch_size: int | None) -> int:
    """how many steps one epoch takes"""
    return 1 if batch_size is None or batch_size >= n_rows else -(-n_rows // batch_size)

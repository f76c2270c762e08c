"""Batch orders shared by every engine: full batch, minibatches, single samples.

An epoch's order depends only on (seed, epoch), so a fit split across ``partial_fit``
calls, or run on another engine, walks the rows in exactly the same order.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

Rows = "slice | np.ndarray | None"


def epoch_order(n_rows: int, epoch: int, shuffle: bool, seed: int) -> np.ndarray | None:
    """the row order of one epoch: a seeded permutation, or None for 0..n-1"""
    if not shuffle:
        return None
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


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

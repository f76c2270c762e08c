"""Checking data in memory, with messages that name the culprit: the column, the row, the value.

Rows in messages about in-memory arrays are 0-based indices ("row index 3"); for data read from a
file (``gradfit.io.data``) the reader passes ``first_row=1`` and rows count from 1 after the header.
NaN and infinity are found in one pass; ``check_values`` looks at the columns only when the Gram
statistics of the data (``gradfit.optimum.gram``) say something is wrong.
"""

from __future__ import annotations

import math
import sys
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["check_X", "check_arrays", "check_values", "check_unique", "is_sparse", "largest_value"]


def check_unique(names: Sequence[str], source: str) -> None:
    """DataError naming a column name that appears twice (which column would be meant?)"""
    seen: dict = {}
    for k, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"{source} has two columns named {name!r} (columns {seen[name]} and {k}); "
                            f"column names must be unique")
        seen[name] = k


def is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _row(i: int, first_row: int) -> str:
    return f"row {i + 1}" if first_row == 1 else f"row index {i}"


def is_sparse(X) -> bool:
    """scipy.sparse.issparse(X), without importing SciPy (a sparse matrix in hand means it is imported)"""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def _to_float(values, label: str, first_row: int) -> np.ndarray:
    """a column as float64; DataError naming the first value that is not a number"""
    if isinstance(values, pd.Series) and (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if getattr(getattr(values, "dtype", None), "kind", "O") in "mM" or isinstance(
            getattr(values, "dtype", None), (pd.DatetimeTZDtype, pd.PeriodDtype, pd.IntervalDtype)):
        raise DataError(f"{label} is not numeric (its type is {values.dtype})")  # dates and durations
    try:
        return np.asarray(values, dtype=np.float64)
    except ValueError:
        cells = list(values)
        i = next((k for k, v in enumerate(cells) if v is not None and not is_number(v)), None)
        where = "" if i is None else f" ({_row(i, first_row)} holds {str(cells[i])[:40]!r})"
        raise DataError(f"{label} is not numeric{where}") from None


def _check_finite(col: np.ndarray, label: str, first_row: int) -> None:
    """DataError naming the first missing (NaN) or infinite value"""
    bad = ~np.isfinite(col)
    if not bad.any():
        return
    i = int(np.argmax(bad))
    raise DataError(f"{label} has {_non_finite(col[i])} at {_row(i, first_row)}")


def _non_finite(value: float) -> str:
    return "a missing value (NaN)" if math.isnan(value) else "an infinite value (inf)"


def _named_columns(X, feature_names):
    """(name, column) pairs of a 2-D array or DataFrame"""
    if isinstance(X, pd.DataFrame):
        names = feature_names if feature_names is not None else X.columns
        return zip((str(c) for c in names), (X.iloc[:, j] for j in range(X.shape[1])))
    names = feature_names if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
    return zip((str(c) for c in names), X.T)


def _array(values, label: str) -> np.ndarray:
    """np.asarray, with a DataError naming the first row whose length differs (ragged lists)"""
    try:
        return np.asarray(values)
    except ValueError:
        lengths = [len(row) if hasattr(row, "__len__") and not isinstance(row, str) else None for row in values]
        i = next((k for k, n in enumerate(lengths) if n != lengths[0]), None)
        if i is None:
            raise DataError(f"{label} cannot be read as a table of numbers") from None
        raise DataError(f"{label} is ragged: row index {i} has {lengths[i]} values but row index 0 has "
                        f"{lengths[0]}") from None


def check_X(X, feature_names=None, *, source: str = "X", first_row: int = 0) -> None:
    """check a 2-D feature table: numeric, no missing or infinite values (see ``check_arrays``)"""
    if is_sparse(X):
        _check_sparse_values(X, source, first_row)
        return
    if isinstance(X, pd.DataFrame):
        check_unique([str(c) for c in X.columns], source)
    else:
        X = _array(X, source)
        if X.ndim != 2 or X.dtype.kind == "c":
            return  # other shapes and complex numbers: left to scikit-learn's own messages
        if X.dtype.kind in "biuf" and np.isfinite(X).all():
            return
    for name, values in _named_columns(X, feature_names):
        label = f"{source}: column {name!r}"
        _check_finite(_to_float(values, label, first_row), label, first_row)


def check_sparse_structure(X, source: str = "X") -> None:
    """DataError where a CSR or CSC matrix's index pointers or stored indices lie outside the matrix.

    SciPy builds such a matrix from arrays without a full check (``check_format(full_check=False)``), and
    its own products, the sparse kernels (which index unsigned, without Python's negative-index wrap) and
    the conversions between formats would read or write outside the arrays: an index one past the last
    column aborted the interpreter in a fit. One pass over the pointers and the indices (min and max).
    """
    fmt = X.format
    if fmt not in ("csr", "csc"):
        return  # COO and the others check their indices when they are built
    (major, minor), (n_major, n_minor) = (("row", "column"), X.shape) if fmt == "csr" else (("column", "row"),
                                                                                            X.shape[::-1])
    indptr, indices, label = np.asarray(X.indptr), np.asarray(X.indices), f"{source} (sparse {fmt.upper()})"
    fix = "rebuild the matrix (scipy: X.check_format(full_check=True))"
    nnz = int(indptr[-1]) if len(indptr) else -1
    if (len(indptr) != n_major + 1 or indptr[0] != 0 or not 0 <= nnz <= min(len(indices), len(X.data))
            or bool(np.any(indptr[1:] < indptr[:-1]))):
        raise DataError(f"{label}: its index pointers (indptr) do not describe {n_major} {major}s of stored "
                        f"values; {fix}")
    stored = indices[:nnz]
    if nnz == 0 or (int(stored.min()) >= 0 and int(stored.max()) < n_minor):
        return
    k = int(np.flatnonzero((stored < 0) | (stored >= n_minor))[0])
    at = int(np.searchsorted(indptr, k, side="right")) - 1
    raise DataError(f"{label}: {major} index {at} stores a value at {minor} index {int(stored[k])}, outside "
                    f"0..{n_minor - 1}; {fix}")


def _check_sparse_values(X, source: str, first_row: int, n_rows: int | None = None) -> None:
    """DataError naming the first stored value of a scipy.sparse X (by row, then column) that is missing, infinite
    or, given ``n_rows``, too large for the sums of squares of a fit; reads only the stored values (after
    ``check_sparse_structure``)"""
    check_sparse_structure(X, source)
    values = np.asarray(X.data if X.format in ("csr", "csc", "coo") else X.tocoo().data)
    limit = largest_value(n_rows) if n_rows is not None else math.inf
    if _extremes_usable(values, limit):
        return
    coo = X.tocoo()  # only to name the culprit
    bad = ~_usable(coo.data, limit)
    k = np.flatnonzero(bad)[np.lexsort((coo.col[bad], coo.row[bad]))[0]]
    i, label, value = int(coo.row[k]), f"{source}: column {f'x{int(coo.col[k])}'!r}", float(coo.data[k])
    if not math.isfinite(value):
        raise DataError(f"{label} has {_non_finite(value)} at {_row(i, first_row)}")
    raise DataError(f"{label} holds {value:.3g} at {_row(i, first_row)}, too large for float64 sums of "
                    f"squares over {n_rows} rows (limit {limit:.3g}); rescale the column")


def _extremes_usable(values: np.ndarray, limit: float) -> bool:
    """whether every value is finite and at most ``limit`` in size, from the smallest and the largest (NaN makes
    them NaN): two reads, no temporary the size of the values"""
    return values.size == 0 or bool(_usable(np.array([values.min(), values.max()]), limit).all())


def _usable(values: np.ndarray, limit: float) -> np.ndarray:
    """finite and at most ``limit`` in size"""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) <= limit)


def _target_column(y):
    """y as one column, or None for what is left to scikit-learn (several outputs, complex numbers)"""
    if isinstance(y, pd.DataFrame):
        return y.iloc[:, 0] if y.shape[1] == 1 else None
    if isinstance(y, pd.Series):
        return y
    if y.dtype.kind == "c":
        return None
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    return y if y.ndim == 1 else None


def check_arrays(X, y, feature_names=None, *, source: str = "X", target: str = "y", first_row: int = 0,
                 values_later: bool = False) -> None:
    """Check in-memory training data and raise a one-line ``DataError`` naming what is wrong.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_rows, n_features)
    y : array-like of shape (n_rows,)
    feature_names : sequence of str, optional
        Column names for messages (default: the DataFrame's columns, else x0, x1, ...).
    source : str
        What X is called in messages ("X", or "data file PATH").
    target : str
        What y is called in messages ("y", or its column's name).
    first_row : {0, 1}
        0: report 0-based row indices; 1: report rows counted from 1 (files).
    values_later : bool
        Leave the values of a float X (NaN, infinity, scale) to ``check_values``, which reads
        them from the statistics pass of the fit instead of a pass of their own.

    Raises
    ------
    DataError
        Text in a column, a missing (NaN) or infinite value (column and row named),
        lengths of X and y that differ, a single row or none. Shapes scikit-learn
        reports on well (1-D X, complex numbers, several targets) are left to it.

    Examples
    --------
    >>> import numpy as np
    >>> check_arrays(np.array([[1.0], [np.nan]]), np.array([1.0, 2.0]))
    Traceback (most recent call last):
    ...
    gradfit.errors.DataError: X: column 'x0' has a missing value (NaN) at row index 1
    """
    if y is None:
        raise DataError(f"fit requires y to be passed, but the target y is None; give the targets, "
                        f"one per row of {source}")
    sparse = is_sparse(X)
    X = X if sparse or isinstance(X, pd.DataFrame) else _array(X, source)
    y = y if isinstance(y, (pd.Series, pd.DataFrame)) else _array(y, target)
    n_x, n_y = X.shape[0] if sparse or X.ndim else 0, y.shape[0] if y.ndim else 0
    if n_x != n_y:
        raise DataError(f"{source} has {n_x} rows but {target} has {n_y}; they must match")
    if n_x < 2:
        what = "no rows (0 samples)" if n_x == 0 else "a single row (1 sample)"
        raise DataError(f"{source} has {what}; a fit needs at least 2")
    if sparse:
        _check_sparse_values(X, source, first_row, n_x)
    later = not sparse and values_later and _float_table(X)
    clean = sparse or later or _finite_and_in_scale(X, largest_value(n_x))  # one pass settles most; else by column
    if not clean:
        check_X(X, feature_names, source=source, first_row=first_row)
    elif isinstance(X, pd.DataFrame):
        check_unique([str(c) for c in X.columns], source)
    column = _target_column(y)
    if column is not None:  # (y is checked here even with values_later: scikit-learn's validation checks it too)
        label = f"{source}: column {target!r}" if first_row == 1 else target
        values = _to_float(column, label, first_row)
        if not _extremes_usable(values, largest_value(n_x)):  # the culprit named by the full checks
            _check_finite(values, label, first_row)
            _check_scale(values, label, first_row, n_x)
    if not clean and X.ndim == 2 and not (isinstance(X, np.ndarray) and X.dtype.kind == "c"):
        for name, values in _named_columns(X, feature_names):
            label = f"{source}: column {name!r}"
            _check_scale(_to_float(values, label, first_row), label, first_row, n_x)


def _float_table(X) -> bool:
    """a 2-D float array, or a DataFrame of float columns: only NaN, infinity and scale can be wrong in it"""
    if isinstance(X, pd.DataFrame):
        return all(isinstance(t, np.dtype) and t.kind == "f" for t in X.dtypes)
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f"


def check_values(stats, X, y, feature_names=None) -> None:
    """the value check ``check_arrays(values_later=True)`` left, answered by the fit's Gram statistics.

    The statistics are finite exactly when the data is (a NaN or an infinity reaches every sum of
    squares it is in), and their column sums of squares bound every value as ``check_arrays``'s own
    pass does; only where they do not settle it are X and y checked column by column, for the message.
    """
    n = stats.n
    with np.errstate(over="ignore", invalid="ignore"):
        squares = np.append(np.diag(stats.xtx) + n * stats.x_mean**2, stats.yty + n * stats.y_mean**2)
    if stats.finite and bool(np.all(squares <= largest_value(n) ** 2 / 2)):
        return
    check_arrays(X, y, feature_names)


def largest_value(n_rows: int) -> float:
    """the largest |value| whose square, summed over ``n_rows`` rows (with room to spare), stays finite"""
    return math.sqrt(np.finfo(np.float64).max / (16.0 * max(n_rows, 1)))


def _finite_and_in_scale(X, limit: float) -> bool:
    """True when X is a float array whose values are all finite and within ±limit, as its column sums of
    squares show in one pass (with a factor 2 to spare); False otherwise or when that cannot be told"""
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f" and X.size):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        squares = np.einsum("ij,ij->j", X, X)
    return bool(np.all(squares <= np.float64(limit) * limit / 2))  # compared in float64, whatever X holds


def _check_scale(col: np.ndarray, label: str, first_row: int, n_rows: int) -> None:
    """DataError naming the first value too large for the sums of squares a fit needs"""
    if col.size == 0:
        return
    limit = largest_value(n_rows)
    big = np.abs(col) > limit
    if big.any():
        i = int(np.argmax(big))
        raise DataError(f"{label} holds {col[i]:.3g} at {_row(i, first_row)}, too large for float64 sums of "
                        f"squares over {n_rows} rows (limit {limit:.3g}); rescale the column")

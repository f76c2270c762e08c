"""svmlight / libsvm files (``.svm``, ``.svmlight``, ``.libsvm``, gzip'd or not) read into a CSR matrix.

Each line is ``target index:value index:value ...`` (a ``qid:`` field and ``#`` comments are allowed).
The matrix is never densified: scikit-learn's ``load_svmlight_file`` (imported here, when such a file is
read) builds it.

Indices may count from 0 or from 1 (libsvm's convention). Unless told, the base is that of scikit-learn's
``zero_based="auto"``: a file with no index 0 anywhere is one-based. Columns are named by the file's own
indices: x1..xd for a one-based file, x0..x{d-1} for a zero-based one. A model fitted on such a file
records its base, and new files for predicting are read with that base, never guessed again: a new file
that happens to lack index 0 would otherwise shift every column by one. Predicting reads new data at the
model's width: svmlight omits trailing zeros, so fewer columns are padded; more are refused.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError
from .data import existing_file

__all__ = ["ENDINGS", "is_svmlight", "Sparse", "read_svmlight", "feature_names"]

#: the endings of svmlight files, each also gzip'd
ENDINGS = tuple(e + gz for e in (".svm", ".svmlight", ".libsvm") for gz in ("", ".gz"))


def is_svmlight(path) -> bool:
    """whether a data argument names an svmlight file (by its ending)"""
    return str(path).lower().endswith(ENDINGS)


class Sparse(NamedTuple):
    """an svmlight file's rows: X (CSR, float64), the target y, the features' names (the file's indices:
    x0.. or x1..) and whether the indices count from 0"""

    X: object
    y: np.ndarray
    names: list[str]
    zero_based: bool


def feature_names(width: int, zero_based: bool) -> list[str]:
    """the names of ``width`` svmlight columns: their indices in the file, x0.. or x1.."""
    first = 0 if zero_based else 1
    return [f"x{j}" for j in range(first, first + width)]


def read_svmlight(path, n_features: int | None = None, zero_based: bool | None = None,
                  why_one_based: str = "the indices are read as one-based") -> Sparse:
    """the rows of an svmlight file, column j being index j (``zero_based``) or index j + 1 (one-based);
    ``zero_based=None`` infers it as scikit-learn's ``zero_based="auto"`` does (no index 0: one-based).
    With ``n_features`` (a model's width) padded to it, and DataError for an index beyond it; DataError
    for an index 0 in data read as one-based (``why_one_based`` says why they are)"""
    X, y = _load(path)
    if zero_based is None:
        zero_based = not (X.nnz > 0 and X.indices.min() > 0)
    if not zero_based:
        X = _from_one(X, path, why_one_based)
    if n_features is not None:
        X = _at_width(X, n_features, zero_based, path)
    _check_finite(X, y, path)
    return Sparse(X, y, feature_names(X.shape[1], zero_based), zero_based)


def _at_width(X, width: int, zero_based: bool, path):
    """X with zero columns appended up to a model's ``width`` (svmlight omits trailing zeros); DataError
    naming the file's largest index when it is beyond the model's"""
    import scipy.sparse as sp

    if X.shape[1] > width:
        names, last = feature_names(width, zero_based), X.shape[1] - (1 if zero_based else 0)
        raise DataError(f"data file {path} has feature index {last} but the model takes {width} features "
                        f"({names[0]}..{names[-1]}); it was fitted on narrower data")
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], width))


def _from_one(X, path, why: str):
    """X read with indices from 0, as one-based data: every index one less; DataError naming a row with index 0"""
    import scipy.sparse as sp

    at_zero = np.flatnonzero(X.indices == 0)
    if len(at_zero):
        row = int(np.searchsorted(X.indptr, int(at_zero[0]), side="right"))
        raise DataError(f"data file {path}: row {row} has feature index 0, but {why}")
    return sp.csr_matrix((X.data, X.indices - 1, X.indptr), shape=(X.shape[0], max(X.shape[1] - 1, 0)))


def _load(path):
    """(X, y) as the file gives them (index j is column j); DataError naming the file, and the line at fault"""
    path = existing_file(path)
    from sklearn.datasets import load_svmlight_file  # a second to import: only when such a file is read

    try:
        X, y = load_svmlight_file(str(path), zero_based=True, dtype=np.float64)
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        line, reason = _first_bad_line(path)
        if line is not None:
            raise DataError(f"data file {path}, line {line}: {reason} (svmlight: target index:value ...)") from None
        raise DataError(f"data file {path} is not svmlight data: {reason or _first_line(exc)}") from None
    if X.shape[0] == 0:
        raise DataError(f"data file {path} has no rows")
    return X, y


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _first_bad_line(path: Path) -> tuple[int | None, str | None]:
    """(line number, what is wrong) of the first line that is not ``target index:value ...``"""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                reason = _line_problem(line.split("#", 1)[0].split())
                if reason is not None:
                    return number, reason
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return None, _first_line(exc)
    return None, None


def _line_problem(fields: list[str]) -> str | None:
    """what is wrong with one line's fields, or None"""
    if not fields:
        return None
    try:
        float(fields[0])
    except ValueError:
        return f"the target {fields[0][:40]!r} is not a number"
    previous = -1
    for field in fields[1:]:
        key, sep, value = field.partition(":")
        if key == "qid":
            continue
        try:
            index, _ = int(key), float(value)
        except ValueError:
            sep = ""
        if not sep or index < 0:
            return f"{field[:40]!r} is not index:value (an index >= 0, a number)"
        if index <= previous:
            return f"index {index} comes after index {previous} (indices must increase along a line)"
        previous = index
    return None


def _check_finite(X, y, path) -> None:
    """DataError naming the first row holding a missing or infinite value"""
    bad = ~np.isfinite(X.data)
    if bad.any():
        row = int(np.searchsorted(X.indptr, int(np.argmax(bad)), side="right"))
        raise DataError(f"data file {path}: row {row} holds a missing or infinite feature value")
    if y is not None and not np.isfinite(y).all():
        raise DataError(f"data file {path}: row {int(np.argmax(~np.isfinite(y))) + 1} has a missing or infinite "
                        f"target")

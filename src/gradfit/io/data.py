"""Reading CSV and Parquet through PyArrow, with messages that name the file, column and row at fault.

Rows in messages about files count data rows from 1 (the first row after the header). The checks
of the values read (and of arrays given in memory) are ``gradfit.io.checks``.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from ..errors import DataError
from .checks import check_arrays, check_unique, check_X, is_number

__all__ = ["SUFFIXES", "FORMATS", "data_files", "column_names", "without", "read_table", "read_features",
           "read_columns", "choose_features", "numeric_column", "numeric_matrix", "check_features"]

#: file suffixes gradfit reads, and how (the Dask engine reads these; in memory, FORMATS below too)
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: endings of the files read into memory -> kind: comma- or tab-separated text (gzip-compressed or not), Parquet
FORMATS = {".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv", ".tsv.gz": "tsv", ".parquet": "parquet",
           ".pq": "parquet"}
#: data read into memory may take at most this share of the memory available now
MEMORY_SHARE = 0.8
#: bytes in memory per byte on disk, roughly, by how the file is stored
EXPANSION = {"csv": 1.0, "tsv": 1.0, "parquet": 3.0, "gz": 5.0}
STDIN = "-"


def _file_kind(path: Path) -> str:
    """'csv', 'tsv' or 'parquet' from the file name; DataError for anything else"""
    name = path.name.lower()
    for ending in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ending):
            return FORMATS[ending]
    raise DataError(f"data file {path} has an unknown extension {path.suffix!r}; "
                    f"gradfit reads {', '.join(FORMATS)} (and - for standard input)")


def _readable(path) -> tuple[Path, str]:
    """(path, kind) of a data file that exists and is not empty; DataError otherwise"""
    path = Path(path)
    kind = _file_kind(path)
    return existing_file(path), kind


def existing_file(path) -> Path:
    """the path of a data file that exists and is not empty; DataError naming it otherwise"""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"data file {path} is a folder, not a file")
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    if os.path.getsize(path) == 0:
        raise DataError(f"data file {path} is empty")
    return path


def data_files(path) -> list[Path]:
    """the files a data argument names: one file, ``-`` (standard input), every data file in a folder,
    or every match of a glob pattern (sorted); DataError when nothing matches or the lot would not fit
    in memory"""
    text = str(path)
    if text == STDIN:
        return [Path(STDIN)]
    if any(c in text for c in "*?["):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise DataError(f"no data file matches {text!r}")
    elif Path(text).is_dir():
        files = sorted(p for p in Path(text).iterdir() if p.is_file() and _known(p))
        if not files:
            raise DataError(f"data folder {text} holds no data files ({', '.join(FORMATS)})")
    else:
        return [Path(text)]
    _check_fits_in_memory(files, text)
    return files


def _known(path: Path) -> bool:
    return any(path.name.lower().endswith(ending) for ending in FORMATS)


def _check_fits_in_memory(files: list[Path], text: str) -> None:
    """DataError pointing to the Dask engine when the files would not fit in memory once read"""
    needed = sum(p.stat().st_size * EXPANSION["gz" if p.name.lower().endswith(".gz") else _file_kind(p)]
                 for p in files)
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > MEMORY_SHARE * available:
        raise DataError(f"data {text!r} ({len(files)} files) needs about {needed / 2**30:.1f} GiB in memory, more "
                        f"than the {available / 2**30:.1f} GiB free; fit it with --engine dask")


@functools.lru_cache(maxsize=1)
def _stdin_bytes() -> bytes:
    """standard input, read once (the header and the rows are both read from it)"""
    data = sys.stdin.buffer.read()
    if not data:
        raise DataError("data from standard input (-) is empty")
    return data


def _arrow(read, path: Path, kind: str):
    """run an Arrow reader; DataError with its first line if the file is not what it claims"""
    try:
        return read()
    except UnicodeDecodeError as exc:
        raise DataError(f"data file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                        f"at position {exc.start} of its header)") from None
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"data file {path} cannot be read as {kind}: {reason}") from None


def _text_source(path: Path):
    """what PyArrow's CSV reader reads: the file, or standard input's bytes"""
    return pa.BufferReader(_stdin_bytes()) if str(path) == STDIN else path


def _source(path) -> tuple[Path, str]:
    """(path, kind) of one data file or of standard input (read as CSV)"""
    return (Path(STDIN), "csv") if str(path) == STDIN else _readable(path)


def _parse_options(kind: str) -> pa_csv.ParseOptions:
    return pa_csv.ParseOptions(delimiter="\t" if kind == "tsv" else ",")


def _open_one(path, columns: Sequence[str] | None = None) -> pa.Table:
    """one file as an Arrow table (all columns, or only ``columns``)"""
    path, kind = _source(path)
    if kind in ("csv", "tsv"):
        options = pa_csv.ConvertOptions(include_columns=columns)
        # standard input is parsed on this thread: no reader threads left to wind down as a piped command exits
        reading = pa_csv.ReadOptions(use_threads=str(path) != STDIN)
        return _arrow(lambda: pa_csv.read_csv(_text_source(path), read_options=reading,
                                              parse_options=_parse_options(kind), convert_options=options), path, kind)
    return _arrow(lambda: pa_parquet.read_table(path, columns=columns), path, kind)


def _open_table(path, columns: Sequence[str] | None = None) -> pa.Table:
    """the data as one Arrow table: a file, standard input, or the files of a folder or glob in order"""
    files = data_files(path)
    tables = [_open_one(f, columns) for f in files]
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"data files of {str(path)!r} do not share their column types: "
                        f"{str(exc).strip().splitlines()[0]}") from None


def _schema_names(path) -> list[str]:
    """column names, from the CSV header or the Parquet footer, without reading the data; every file of a
    folder or glob must have the same columns"""
    files = data_files(path)
    names = _names_of(files[0])
    for other in files[1:]:
        if _names_of(other) != names:
            raise DataError(f"data file {other} has the columns {_names_of(other)}, not those of {files[0]} "
                            f"({names})")
    return names


def column_names(path) -> list[str]:
    """the column names of a data file (or of every file of a folder or glob, which must agree)"""
    return _schema_names(path)


def without(path, target: str, excluded: Sequence[str]) -> list[str]:
    """every column of the data but the target and ``excluded``; DataError naming an excluded column it lacks"""
    available = column_names(path)
    for name in excluded:
        if name not in available:
            raise DataError(f"data file {path} has no column {name!r} to exclude; its columns are {available}")
    return [c for c in available if c != target and c not in excluded]


def _names_of(path) -> list[str]:
    path, kind = _source(path)
    if kind in ("csv", "tsv"):
        names = _arrow(lambda: _csv_header(_text_source(path), kind), path, kind)
    else:
        names = _arrow(lambda: list(pa_parquet.read_schema(path).names), path, kind)
    check_unique(names, f"data file {path}")
    return names


def _csv_header(source, kind: str = "csv") -> list[str]:
    with pa_csv.open_csv(source, read_options=pa_csv.ReadOptions(use_threads=False),
                         parse_options=_parse_options(kind)) as reader:
        return list(reader.schema.names)


def choose_features(path, target: str | None, features: Sequence[str] | None) -> list[str]:
    """the feature columns of a data file: ``features``, or every column but the target; DataError for a
    name the file does not have"""
    return _choose(_schema_names(path), target, features, path)


def read_columns(path, columns: Sequence[str]) -> pa.Table:
    """only the named columns of a data file (or folder, or glob) as an Arrow table; DataError naming a
    column it lacks"""
    available = _schema_names(path)
    for name in columns:
        if name not in available:
            raise DataError(f"data file {path} has no column {name!r}, which the model needs; its columns are "
                            f"{available}")
    return _open_table(path, columns=list(columns))


def _choose(available: list[str], target: str | None, features: Sequence[str] | None, path) -> list[str]:
    """the feature columns to use; DataError for names the file does not have"""
    wanted = [target] if target is not None else []
    wanted += list(features) if features is not None else []
    for name in wanted:
        if name not in available:
            role = "target" if name == target else "feature"
            raise DataError(f"data file {path} has no {role} column {name!r}; its columns are {available}")
    chosen = [c for c in available if c != target] if features is None else list(features)
    check_features(chosen, target, f"data file {path}")
    return chosen


def check_features(features: Sequence[str], target: str | None, source: str) -> None:
    """DataError for no features at all, the target among them, or one named twice"""
    if not features:
        besides = f" besides the target {target!r}" if target is not None else ""
        raise DataError(f"{source} has no feature columns{besides}; a model needs at least one")
    if target is not None and target in features:
        raise DataError(f"option --features names the target column {target!r}; "
                        f"a column cannot predict itself")
    check_unique(features, "option --features")


def numeric_column(table: pa.Table, name: str, path) -> np.ndarray:
    """one column as float64 (nulls as NaN); DataError if it holds text"""
    column = table.column(name)
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_null(kind) or pa.types.is_decimal(kind)):
        raise DataError(f"data file {path}: column {name!r} is not numeric{_first_text(column)}")
    # unsafe: integers beyond 2**53 (int64 extremes, uint64) become the nearest float, as in NumPy and pandas
    return column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)


def _first_text(column: pa.ChunkedArray) -> str:
    """' (row r holds 'value')' for the first value that is not a number"""
    for r, value in enumerate(column.to_pylist(), start=1):
        if value is not None and not is_number(value):
            return f" (row {r} holds {str(value)[:40]!r})"
    return f" (its type is {column.type})"


def read_table(path, target: str, features: Sequence[str] | None = None):
    """Read a CSV or Parquet file into a feature matrix and a target vector.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``, ``.parquet`` or ``.pq`` file with a header
        row of column names; ``-`` for CSV on standard input; a folder or a glob pattern for all
        its data files (same columns, read in name order).
    target : str
        The column to predict.
    features : sequence of str, optional
        The columns to predict it from; default: every other column.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), float64
    y : ndarray of shape (n_rows,), float64
    feature_names : list of str, length n_features

    Raises
    ------
    DataError
        One line naming the file, and the column and row (counted from 1 after the
        header) where that applies: missing or empty file, unknown extension or column,
        text in a column, a missing or infinite value, fewer than two rows.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = path.write_text("x,y\\n1,2\\n2,4\\n3,6\\n")
    >>> X, y, names = read_table(path, target="y")
    >>> X.shape, y.tolist(), names
    ((3, 1), [2.0, 4.0, 6.0], ['x'])
    """
    names = _choose(_schema_names(path), target, features, path)
    table = _open_table(path, columns=[*names, target])
    X = numeric_matrix(table, names, path)
    y = numeric_column(table, target, path)
    check_arrays(X, y, names, source=f"data file {path}", target=target, first_row=1)
    return X, y, names


def read_features(path, features: Sequence[str] | None = None) -> np.ndarray:
    """the columns ``features`` (default: all) of a CSV or Parquet file as a float64 matrix, checked"""
    names = _choose(_schema_names(path), None, features, path)
    X = numeric_matrix(_open_table(path, columns=names), names, path)
    if X.shape[0] == 0:
        raise DataError(f"data file {path} has no rows (only a header); there is nothing to predict")
    check_X(X, names, source=f"data file {path}", first_row=1)
    return X


def numeric_matrix(table: pa.Table, names: list[str], path) -> np.ndarray:
    X = np.empty((table.num_rows, len(names)))
    for j, name in enumerate(names):
        X[:, j] = numeric_column(table, name, path)
    return X

"""Data for the Dask engine: Parquet / CSV globs read lazily, Dask DataFrames and arrays as row-chunked arrays.

Files are checked from their schemas alone (Parquet footers, CSV headers and first
block) before anything is read: every file must hold the target and the features,
and a column must be numeric in every file, so a bad file is named at once instead
of failing deep inside a distributed pass.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import PurePosixPath
from typing import NamedTuple, Sequence

import dask
import dask.array as da
import dask.dataframe as dd
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from ..errors import DataError
from ..io.checks import check_unique
from ..io.data import SUFFIXES, check_features

__all__ = ["read_dataset", "as_dask_arrays"]


#: decoded bytes a Parquet partition may take (whole row groups are gathered up to it)
PARTITION_BYTES = 128 * 2**20


def read_dataset(path_or_glob, target: str, features: Sequence[str] | None = None,
                 partition_bytes: int = PARTITION_BYTES):
    """Open Parquet or CSV files lazily as Dask arrays of features and target.

    Parameters
    ----------
    path_or_glob : str or Path
        A file, a directory's glob (``'data/*.parquet'``) or a list of files; any
        fsspec URL works. Nothing is loaded whole: each partition is read by the
        task that uses it.
    target : str
        The column to predict.
    features : sequence of str, optional
        The columns to predict it from; default: every other column of the first file.
    partition_bytes : int
        Memory budget of one Parquet partition, decoded as float64: row groups are
        gathered up to it (a larger row group is read alone), so workers read a file
        piece by piece instead of whole.

    Returns
    -------
    X : dask.array.Array of shape (n_rows, n_features), float64, one column chunk
    y : dask.array.Array of shape (n_rows,), float64, the same row chunks
    feature_names : list of str

    Raises
    ------
    DataError
        One line naming the file (and column): no file matches, an unknown extension,
        a file without the target or a feature, a column that is not numeric, files
        whose columns disagree.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for k in range(2):
    ...     _ = (folder / f"part{k}.csv").write_text("x,y\\n1,2\\n2,4\\n")
    >>> X, y, names = read_dataset(str(folder / "*.csv"), target="y")
    >>> X.shape, names, float(y.sum().compute())
    ((4, 1), ['x'], 12.0)
    """
    fs, paths = _expand(path_or_glob)
    kind = _kind(paths)
    heads = {p: _head(fs, p, kind) for p in paths}
    names = _check_columns({p: schema for p, (schema, _) in heads.items()}, target, features)
    columns = [*names, target]
    if kind == "parquet":  # partitions of whole row groups within a memory budget, sizes from the footers
        pieces = [piece for p in paths for piece in _pieces(fs, p, len(names) + 1, partition_bytes)]
        X, y = _parquet_arrays(fs, pieces, names, target)
        return X, y, names
    columns = [*names, target]
    urls = [fs.unstrip_protocol(p) for p in paths]
    frame = dd.read_csv(urls, usecols=columns, dtype={c: "float64" for c in columns})
    data = _counted(frame[columns])
    return data[:, :-1], data[:, -1], names


def _parquet_arrays(fs, pieces: list["Piece"], names: list[str], target: str) -> tuple[da.Array, da.Array]:
    """X (C order) and y of the pieces, each piece read by one task that both come from"""
    Xs, ys = [], []
    for piece in pieces:
        part = dask.delayed(_read_parquet_piece, pure=True, nout=2)(piece, fs, names, target)
        Xs.append(da.from_delayed(part[0], shape=(piece.rows, len(names)), dtype=np.float64))
        ys.append(da.from_delayed(part[1], shape=(piece.rows,), dtype=np.float64))
    return da.concatenate(Xs), da.concatenate(ys)


def _counted(frame: dd.DataFrame) -> da.Array:
    """a CSV frame as an array with known row counts (one counting pass, which also parses every value)"""
    try:
        return frame.to_dask_array(lengths=True)
    except (ValueError, TypeError, OSError, pa.ArrowException) as exc:  # text deep inside a file, past the sample
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"the CSV data cannot be read as numbers: {reason[:200]}") from None


class Piece(NamedTuple):
    """one partition of a Parquet dataset: consecutive row groups of one file"""

    path: str
    row_groups: tuple
    rows: int


def _pieces(fs, path: str, n_columns: int, budget: int) -> list[Piece]:
    """the file's row groups gathered into partitions of at most ``budget`` decoded bytes (float64);
    a row group above the budget is a partition of its own"""
    with fs.open(path, "rb") as f:
        meta = pa_parquet.read_metadata(f)
    pieces, groups, rows = [], [], 0
    for g in range(meta.num_row_groups):
        n = meta.row_group(g).num_rows
        if groups and (rows + n) * n_columns * 8 > budget:
            pieces.append(Piece(path, tuple(groups), rows))
            groups, rows = [], 0
        groups.append(g)
        rows += n
    if groups or not pieces:
        pieces.append(Piece(path, tuple(groups), rows))
    return [p for p in pieces if p.rows > 0] or [pieces[0]]


def _read_parquet_piece(piece: Piece, fs, names: list[str], target: str) -> tuple[np.ndarray, np.ndarray]:
    """one partition's features (C order, float64) and target, run by the task that uses it.

    Row group by row group: each is decoded whole by Arrow, then copied into the partition's rows in
    blocks of ``FILL_ROWS`` (a block of every column stays in the cache while it is transposed), so a
    worker holds the partition once plus one row group of Arrow's, and hands Arrow's memory back
    afterwards. (Filling column by column wrote X with a stride of a row: twice the time of the read.)
    """
    X = np.empty((piece.rows, len(names)))
    y = np.empty(piece.rows)
    start = 0
    with fs.open(piece.path, "rb") as f:
        parquet = pa_parquet.ParquetFile(f)
        for group in piece.row_groups:
            table = parquet.read_row_group(group, columns=[*names, target])
            columns = [_floats(table.column(j)) for j in range(len(names))]
            stop = start + table.num_rows
            y[start:stop] = _floats(table.column(len(names)))
            del table
            for lo in range(0, stop - start, FILL_ROWS):
                hi = min(lo + FILL_ROWS, stop - start)
                for j, column in enumerate(columns):
                    X[start + lo : start + hi, j] = column[lo:hi]
            start = stop
    release_memory()
    return X, y


#: rows per block of the transposing copy from a row group's columns into the partition's rows
FILL_ROWS = 8192


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """one Arrow column as float64 (nulls as NaN; integers beyond 2**53 to the nearest float, as NumPy does)"""
    return column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)


def release_memory() -> None:
    """give freed memory back to the system: Arrow's pool, then the C allocator (glibc's malloc_trim)"""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def _expand(path_or_glob) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    fs, _, paths = fsspec.core.get_fs_token_paths([str(p) for p in path_or_glob]
                                                   if isinstance(path_or_glob, (list, tuple)) else str(path_or_glob))
    paths = sorted(p for p in paths if fs.isfile(p))
    if not paths:
        raise DataError(f"no data file matches {str(path_or_glob)!r}")
    return fs, paths


def _kind(paths: list[str]) -> str:
    """'csv' or 'parquet' for every file; DataError naming a file that is neither or differs"""
    kinds = {}
    for path in paths:
        suffix = PurePosixPath(path).suffix.lower()
        if suffix not in SUFFIXES:
            raise DataError(f"data file {path} has an unknown extension {suffix!r}; gradfit reads {', '.join(SUFFIXES)}")
        kinds.setdefault(SUFFIXES[suffix], path)
    if len(kinds) > 1:
        raise DataError(f"data files mix formats: {kinds['csv']} is CSV but {kinds['parquet']} is Parquet")
    return next(iter(kinds))


def _head(fs, path: str, kind: str) -> tuple[pa.Schema, int | None]:
    """a file's columns and types, and rows, from its footer (Parquet) or header and first block (CSV)"""
    try:
        with fs.open(path, "rb") as f:
            if kind == "parquet":
                meta = pa_parquet.read_metadata(f)
                return meta.schema.to_arrow_schema(), meta.num_rows
            return pa_csv.open_csv(f).schema, None
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"data file {path} cannot be read as {kind}: {reason}") from None


def _check_columns(schemas: dict[str, pa.Schema], target: str, features) -> list[str]:
    """the feature names; DataError naming the file and column at fault"""
    first, schema0 = next(iter(schemas.items()))
    names = list(features) if features is not None else [c for c in schema0.names if c != target]
    for path, schema in schemas.items():
        check_unique(schema.names, f"data file {path}")
    check_features(names, target, f"data file {first}")
    for path, schema in schemas.items():
        for name in [target, *names]:
            if name not in schema.names:
                role = "target" if name == target else "feature"
                where = "" if path == first else f" (unlike {first})"
                raise DataError(f"data file {path} has no {role} column {name!r}{where}; its columns are {schema.names}")
            if not _numeric(schema.field(name).type):
                other = next((p for p, s in schemas.items() if _numeric(s.field(name).type)), None)
                unlike = f" but numeric in {other}" if other is not None else ""
                raise DataError(f"data file {path}: column {name!r} is not numeric "
                                f"(its type is {schema.field(name).type}){unlike}")
    return names


def _numeric(kind: pa.DataType) -> bool:
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_null(kind) or pa.types.is_decimal(kind))


def as_dask_arrays(X, y, partition_bytes: int = PARTITION_BYTES):
    """(X, y, feature_names) as float64 Dask arrays with the same row chunks and one column chunk.

    X may be a path or glob (then ``y`` names the target column; Parquet partitions within
    ``partition_bytes``), a Dask DataFrame (``y`` a Dask Series, or the name of one of its
    columns), a Dask array or anything NumPy can read.
    """
    if _is_paths(X):
        return read_dataset(X, y, partition_bytes=partition_bytes)
    names = None
    if isinstance(X, dd.DataFrame):
        if isinstance(y, str):
            if y not in X.columns:
                raise DataError(f"the Dask DataFrame has no target column {y!r}; its columns are {list(X.columns)}")
            X, y = X.drop(columns=[y]), X[y]
        names = [str(c) for c in X.columns]
        X = X.astype("float64").to_dask_array(lengths=True)
    if isinstance(y, (dd.Series, dd.DataFrame)):
        y = y.astype("float64").to_dask_array(lengths=True)
    X = _known_chunks(X if isinstance(X, da.Array) else da.from_array(np.asarray(X), chunks=("auto", -1)))
    y = _known_chunks(y if isinstance(y, da.Array) else da.from_array(np.asarray(y))).reshape(-1)
    if X.shape[0] != y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    X = X.astype("float64").rechunk({1: -1})
    y = y.astype("float64").rechunk((X.chunks[0],))
    rows = tuple(c for c in X.chunks[0] if c)  # empty partitions (a header-only file) hold nothing: dropped
    if len(rows) < 1 or sum(rows) < 2:
        raise DataError(f"the data has {sum(rows)} rows; a fit needs at least 2")
    if len(rows) != len(X.chunks[0]):
        X, y = X.rechunk({0: rows}), y.rechunk((rows,))
    return X, y, names or [f"x{j}" for j in range(X.shape[1])]


def _is_paths(X) -> bool:
    """a path, a glob, or a list of them"""
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(_is_paths(x) for x in X)
    return isinstance(X, str) or hasattr(X, "__fspath__")


def _known_chunks(a: da.Array) -> da.Array:
    """``a`` with its row chunk sizes known (one counting pass where Dask does not know them)"""
    return a.compute_chunk_sizes() if any(np.isnan(c) for c in a.chunks[0]) else a

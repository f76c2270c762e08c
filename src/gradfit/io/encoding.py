"""Data files read through an encoding: text columns one-hot (``--categorical``), formulas (``--formula``),
and raw data for a model that keeps its encoding.

An encoding has ``columns`` (the raw columns it reads), ``names`` (the design matrix's columns, the
model's feature names), ``transform(frame, source, first_row)`` and ``to_dict()``; the model file keeps
it, and ``from_dict`` rebuilds it. Only the columns an encoding reads are read from the file.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pyarrow as pa

from ..errors import DataError, OptionError
from . import categories
from .checks import check_arrays, check_X
from .data import choose_features, column_names, numeric_column, numeric_matrix, read_columns, read_table

__all__ = ["Training", "read_training", "read_formula", "read_encoded", "read_target", "read_labelled", "from_dict"]


class Training(NamedTuple):
    """training data as the model sees it, and how it was encoded"""

    X: np.ndarray
    y: np.ndarray
    names: list[str]
    encoding: object | None
    encoded: list[str]  # text columns encoded as categories without being named


def _is_text(kind: pa.DataType) -> bool:
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind)
            or getattr(pa.types, "is_string_view", lambda _: False)(kind))


def read_training(path, target: str, features: Sequence[str] | None = None, categorical: Sequence[str] = (),
                  intercept: bool = True) -> Training:
    """The training data of a file, ``categorical`` columns and text columns one-hot encoded.

    Text columns not in ``categorical`` are encoded too and listed in ``Training.encoded`` (the caller
    says so), unless they look like a numeric column with a stray entry or have more levels than
    ``categories.AUTO_MAX_LEVELS``: those are refused. Without text or categorical columns this is
    ``data.read_table``.
    """
    source = f"data file {path}"
    names = choose_features(path, target, features)
    available = column_names(path) if categorical else []
    for name in categorical:
        if name not in available:
            raise DataError(f"{source} has no column {name!r}, which --categorical names; its columns are {available}")
        if name not in names:
            raise OptionError(f"option --categorical names {name!r}, which is not among the features {names}")
    table = read_columns(path, [*names, target])
    text = [n for n in names if _is_text(table.schema.field(n).type)]
    y = numeric_column(table, target, path)
    if not categorical and not text:
        X = numeric_matrix(table, names, path)
        check_arrays(X, y, names, source=source, target=target, first_row=1)
        return Training(X, y, names, None, [])
    frame = table.select(names).to_pandas()
    encoded = categories.auto_categorical(frame, [n for n in text if n not in categorical], source)
    encoding = categories.fit_onehot(frame, names, [*categorical, *encoded], intercept, source, first_row=1)
    X = encoding.transform(frame, source, first_row=1)
    check_arrays(X, y, encoding.names, source=source, target=target, first_row=1)
    return Training(X, y, encoding.names, encoding, encoded)


def read_formula(path, formula: str) -> Training:
    """the design matrix and target of ``formula`` on a data file (only the columns it names are read)"""
    from .formula import design, parse

    source = f"data file {path}"
    available = column_names(path)
    parsed = parse(formula, available, source)
    wanted = {*parsed.target_columns, *parsed.columns}
    frame = read_columns(path, [c for c in available if c in wanted]).to_pandas()
    built = design(formula, frame, source, first_row=1)
    check_arrays(built.X, built.y, built.encoding.names, source=source, target=built.encoding.target, first_row=1)
    return Training(built.X, built.y, built.encoding.names, built.encoding, [])


def read_encoded(path, encoding) -> np.ndarray:
    """the design matrix of the raw data in a file, built by a model's encoding from its columns alone"""
    source = f"data file {path}"
    table = read_columns(path, encoding.columns)
    if table.num_rows == 0:
        raise DataError(f"{source} has no rows (only a header); there is nothing to predict")
    X = encoding.transform(table.to_pandas(), source, first_row=1)
    check_X(X, encoding.names, source=source, first_row=1)
    return X


def read_target(path, encoding, target: str | None) -> tuple[np.ndarray, str]:
    """(y, its name) for scoring a model: the formula's left-hand side, or the column ``target``"""
    formula_target = getattr(encoding, "target", None)
    if formula_target is None:
        if target is None:
            raise OptionError("option --target is missing: name the column to predict")
        return numeric_column(read_columns(path, [target]), target, path), target
    if target is not None and target != formula_target:
        raise OptionError(f"option --target {target!r} differs from the target {formula_target!r} of the model's "
                          f"formula; leave --target out")
    return read_formula(path, f"{formula_target} ~ 1").y, formula_target


def read_labelled(path, feature_names: list[str] | None, encoding, target: str | None):
    """(X, y, target) of a data file for a fitted model: through its encoding, or its feature columns"""
    if encoding is None:
        if target is None:
            raise OptionError("option --target is missing: name the column the model predicts")
        X, y, _ = read_table(path, target, feature_names)
        return X, y, target
    y, target = read_target(path, encoding, target)
    return read_encoded(path, encoding), y, target


def from_dict(data: dict):
    """the encoding a model file keeps (kind "onehot" or "formula")"""
    if data["kind"] == categories.KIND:
        return categories.OneHot.from_dict(data)
    from .formula import FormulaDesign

    return FormulaDesign.from_dict(data)

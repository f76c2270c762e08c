"""Text columns as categories: one-hot (treatment) encoding with readable names, kept in the model file.

A categorical column with levels ``east, north, south`` (sorted, as formulaic and patsy sort them)
becomes indicator columns named ``region[T.north]``, ``region[T.south]``: the first level is the
reference, folded into the intercept. Without an intercept the first categorical column keeps all its
levels and the others drop their reference, so the design stays full rank (formulaic's and patsy's
rule). Numeric columns pass through as they are. Missing values and levels the model was not fitted
on are refused with one line naming the column, the row and the level.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .checks import _row, _to_float, is_number  # one definition of a number, a row's name, a column's floats

__all__ = ["Category", "OneHot", "fit_onehot", "auto_categorical", "check_levels", "check_present",
           "check_unique_levels"]

KIND = "onehot"
#: a text column is encoded on its own (without --categorical) only when it has at most this many levels
AUTO_MAX_LEVELS = 50


class Category(NamedTuple):
    """one categorical column: its levels (sorted) and whether the first is dropped as the reference"""

    column: str
    levels: list
    reference: bool

    @property
    def encoded(self) -> list:
        """the levels that get a column of their own"""
        return self.levels[1:] if self.reference else self.levels

    @property
    def names(self) -> list[str]:
        prefix = "T." if self.reference else ""
        return [f"{self.column}[{prefix}{level}]" for level in self.encoded]


class OneHot(NamedTuple):
    """the encoding of a table: raw ``columns`` in order, some of them ``categories``"""

    columns: list[str]
    categories: dict[str, Category]

    @property
    def names(self) -> list[str]:
        """the design matrix's column names (the model's feature names)"""
        out: list[str] = []
        for name in self.columns:
            out += self.categories[name].names if name in self.categories else [name]
        return out

    def transform(self, data: pd.DataFrame, source: str = "X", first_row: int = 0) -> np.ndarray:
        """the design matrix of raw data holding ``columns``; DataError naming a missing column, a missing
        value or an unknown level (rows counted from ``first_row``)"""
        _check_columns(data, self.columns, source)
        parts = []
        for name in self.columns:
            label = f"{source}: column {name!r}"
            if name in self.categories:
                parts.append(_indicators(data[name], self.categories[name], label, first_row))
            else:
                parts.append(_to_float(data[name], label, first_row)[:, None])
        return np.hstack(parts) if parts else np.empty((len(data), 0))

    def to_dict(self) -> dict:
        return {"kind": KIND, "columns": self.columns,
                "categories": [{"column": c.column, "levels": c.levels, "reference": c.reference}
                               for c in self.categories.values()]}

    @classmethod
    def from_dict(cls, data: dict) -> "OneHot":
        categories = {c["column"]: Category(c["column"], list(c["levels"]), bool(c["reference"]))
                      for c in data["categories"]}
        for category in categories.values():
            if category.column not in data["columns"]:
                raise ValueError(f"the categorical column {category.column!r} is not among the columns")
            check_unique_levels(category.levels, category.column)
        return cls(list(data["columns"]), categories)


def check_unique_levels(levels: list, column: str) -> None:
    if len({(type(v), v) for v in levels}) != len(levels):
        raise ValueError(f"the levels of {column!r} repeat a value")


def _check_columns(data: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [name for name in columns if name not in data.columns]
    if missing:
        raise DataError(f"{source} has no column {missing[0]!r}, which the model needs; "
                        f"its columns are {[str(c) for c in data.columns]}")


def _codes(values: pd.Series, levels: list) -> np.ndarray:
    """each value's position among ``levels``; -1 for a missing value or another level"""
    return pd.Index(levels, dtype=object if not levels else None).get_indexer(values).astype(np.int64)


def check_levels(values: pd.Series, levels: list, label: str, first_row: int) -> np.ndarray:
    """each value's position among ``levels``; DataError naming the first missing value or other level"""
    codes = _codes(values, levels)
    bad = codes < 0
    if bad.any():
        i = int(np.argmax(bad))
        value = values.iloc[i]
        if pd.isna(value):
            raise DataError(f"{label} has a missing value at {_row(i, first_row)}")
        raise DataError(f"{label} has the level {_shown(value)} at {_row(i, first_row)}, which the model was not "
                        f"fitted on (its levels: {', '.join(_shown(v) for v in levels)})")
    return codes


def _indicators(values: pd.Series, category: Category, label: str, first_row: int) -> np.ndarray:
    """the indicator columns of one categorical column"""
    codes = check_levels(values, category.levels, label, first_row)
    first = 1 if category.reference else 0
    return (codes[:, None] == np.arange(first, len(category.levels))[None, :]).astype(np.float64)


def _shown(value) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)[:40]


def check_present(values: pd.Series, label: str, first_row: int) -> None:
    """DataError naming the first missing value of a raw column"""
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{label} has a missing value at {_row(int(np.argmax(missing)), first_row)}")


def levels_of(values: pd.Series, label: str, first_row: int) -> list:
    """the sorted distinct values of a column as plain Python values; DataError for a missing value"""
    check_present(values, label, first_row)
    try:
        found = sorted(pd.unique(values.to_numpy()))
    except TypeError:  # text beside numbers
        raise DataError(f"{label} mixes text and numbers; a categorical column holds one kind of value") from None
    return [v.item() if isinstance(v, np.generic) else v for v in found]


def fit_onehot(data: pd.DataFrame, columns: Sequence[str], categorical: Sequence[str], intercept: bool,
               source: str = "X", first_row: int = 0) -> OneHot:
    """the encoding of ``columns`` with ``categorical`` among them one-hot, levels taken from ``data``"""
    _check_columns(data, list(categorical), source)
    categories = {}
    for name in (c for c in columns if c in categorical):
        levels = levels_of(data[name], f"{source}: column {name!r}", first_row)
        full = not intercept and not categories  # without an intercept the first one keeps every level
        categories[name] = Category(name, levels, reference=not full)
    return OneHot(list(columns), categories)


def auto_categorical(data: pd.DataFrame, text: Sequence[str], source: str, first_row: int = 1) -> list[str]:
    """the ``text`` columns (those not named by --categorical), checked for encoding as categories.

    A text column holding numbers among its text is more likely a numeric column with stray entries
    ('n/a', '1,5') than a category, and one with more than ``AUTO_MAX_LEVELS`` levels is rarely a
    category (an identifier, free text): both are refused with a line saying how to encode them anyway
    (--categorical) or leave them out (--exclude).
    """
    for name in text:
        label = f"{source}: column {name!r}"
        levels = levels_of(data[name], label, first_row)
        if any(is_number(v) for v in levels):
            i = next(k for k, v in enumerate(data[name]) if not is_number(v))
            raise DataError(f"{label} is not numeric ({_row(i, first_row)} holds {str(data[name].iloc[i])[:40]!r}); "
                            f"if it is a category, name it with --categorical {name}")
        if len(levels) > AUTO_MAX_LEVELS:
            raise DataError(f"{label} holds text with {len(levels)} distinct values, more than the {AUTO_MAX_LEVELS} "
                            f"gradfit encodes on its own; encode it with --categorical {name} or leave it out "
                            f"with --exclude {name}")
    return list(text)


"""What GDRegressor takes as data: arrays, DataFrames (raw, through a formula's encoding), scipy.sparse
matrices and Dask collections, checked with gradfit's messages first and then scikit-learn's, and the
feature names they carry or are given."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from .engines import get_engine
from .errors import DataError, OptionError
from .io.checks import check_arrays, check_X, is_sparse

#: scipy.sparse formats fit and predict take as they are (others are converted to CSR by scikit-learn's check)
SPARSE_FORMATS = ("csr", "csc")


def training_data(est, X, y, *, reset: bool, feature_names=None):
    """(X, y, feature names) checked, gradfit's messages first, then scikit-learn's"""
    engine = get_engine(est.engine)
    if is_sparse(X):
        engine.for_sparse(X.shape)  # says which engine takes sparse input, where this one does not
    elif engine.lazy_data:
        return _lazy_data(est, X, y, reset, feature_names)
    if feature_names is not None and not is_sparse(X):
        raise OptionError("option feature_names is for data without column names: Dask collections "
                          "(engine='dask') and sparse matrices; pass a DataFrame to name the columns")
    later = engine.checks_values  # the fit's statistics pass checks X's values
    check_arrays(X, y, values_later=later)
    with unnamed_sparse(X):
        X, y = validate_data(est, X, y, reset=reset, dtype=[np.float64, np.float32], y_numeric=True,
                             accept_sparse=SPARSE_FORMATS, ensure_all_finite=not later)
    if feature_names is not None:
        _name_sparse_columns(est, feature_names, X.shape[1], reset)
    names = getattr(est, "feature_names_in_", None)
    return X, y, list(names) if names is not None else None


def _name_sparse_columns(est, feature_names, width: int, reset: bool) -> None:
    """``feature_names`` as the names of sparse X's ``width`` columns (a later fit must give the same)"""
    names = [str(name) for name in feature_names]
    if len(names) != width:
        raise DataError(f"feature_names has {len(names)} names but X has {width} columns")
    fitted = getattr(est, "feature_names_in_", None)
    if not reset and (fitted is None or list(fitted) != names):
        raise DataError("feature_names differ from the names the model was fitted with")
    est.feature_names_in_ = np.asarray(names, dtype=object)


def _lazy_data(est, X, y, reset: bool, feature_names):
    """Dask collections go to the engine untouched; only their width is recorded"""
    names = list(feature_names) if feature_names is not None else (
        [str(c) for c in X.columns] if hasattr(X, "columns") else None)
    n_features = len(names) if names is not None else int(X.shape[1])
    if not reset and n_features != est.n_features_in_:
        raise DataError(f"X has {n_features} features, but GDRegressor is expecting "
                        f"{est.n_features_in_} features as input")
    est.n_features_in_ = n_features
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    return X, y, names


def prediction_data(est, X):
    """X for ``predict``: raw data through the model's encoding, checked (gradfit's messages first), of the width
    and names the model was fitted with"""
    X = encoded(est, X)
    check_X(X)
    with unnamed_sparse(X):
        return validate_data(est, X, reset=False, dtype=[np.float64, np.float32], accept_sparse=SPARSE_FORMATS)


def encoded(est, X):
    """raw data (a DataFrame) through the encoding the model keeps; anything else, or a DataFrame that
    already has the model's columns, as it is"""
    encoding = getattr(est, "encoding_", None)
    if encoding is None or not isinstance(X, pd.DataFrame) or [str(c) for c in X.columns] == encoding.names:
        return X
    return pd.DataFrame(encoding.transform(X, "X"), columns=encoding.names, index=X.index, copy=False)


@contextlib.contextmanager
def unnamed_sparse(X):
    """scikit-learn's warning that X lacks the feature names the model was fitted with, left out for sparse X:
    a sparse matrix carries no names (``fit(X, y, feature_names=...)`` names its columns)"""
    with warnings.catch_warnings():
        if is_sparse(X):
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        yield

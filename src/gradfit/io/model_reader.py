"""A model file read and checked whole, without building the estimator.

``estimator.load_model`` builds a GDRegressor from this document; ``gradfit predict`` needs only the
coefficients and the encoding (``read_predictor``): it parses only those fields of the file, and never
loads scikit-learn's estimator machinery or the solver.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import GradfitError, ModelFileError, OptionError
from ..training.config import FitConfig, validate
from .model_schema import PREDICTING, check_consistency, read_document


def read_model_document(path) -> dict:
    """the document of a model file, parsed with limits, validated against the schema, its fields
    checked against each other and its settings (as GDRegressor takes them) like the estimator's own"""
    path = Path(path)
    doc = read_document(path)
    check_consistency(doc, path)
    return {**doc, "params": _params(doc["params"], path)}


def _params(data: dict, path: Path) -> dict:
    """settings as GDRegressor takes them, checked like the estimator's own.

    Where to connect or what to run is never taken from a file: ``engine_options``
    (a Dask scheduler address, cluster settings) is dropped.
    """
    params = {**data, "engine_options": None}
    if isinstance(params.get("betas"), list):
        params["betas"] = tuple(params["betas"])
    if isinstance(params.get("init"), list):
        params["init"] = tuple(params["init"])
    try:
        validate(FitConfig.from_params(params))
        get_engine_name(params.get("engine", "numpy"))
    except GradfitError as exc:
        raise ModelFileError(f"model file {path}: field 'params': {exc}") from None
    return params


def get_engine_name(name: str) -> str:
    """``name`` if it is a registered engine; OptionError otherwise (nothing is imported)"""
    from ..engines import available_engines

    if name not in available_engines():
        raise OptionError(f"option engine={name!r} is not one of {available_engines()}")
    return name


class Predictor(NamedTuple):
    """what predicting needs from a model file: ``X·coef + intercept`` (as ``GDRegressor.predict``), the
    encoding that builds X from raw data (None: X is the data's feature columns), and for a model fitted on
    svmlight data whether its indices counted from 0 (None: not fitted on svmlight data)"""

    coef: np.ndarray
    intercept: float
    feature_names: list[str] | None
    encoding: object | None = None
    svmlight_zero_based: bool | None = None

    @property
    def n_features(self) -> int:
        return len(self.coef)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef + self.intercept


def read_predictor(path) -> Predictor:
    """the coefficients (and encoding) of a model file, checked as ``load_model`` checks them; the fields
    predicting does not need (the history, the descent's state, the statistics) are not parsed"""
    path = Path(path)
    doc = read_document(path, PREDICTING)
    check_consistency(doc, path)
    return Predictor(np.asarray(doc["coef"], dtype=np.float64), float(doc["intercept"]), doc["feature_names"],
                     read_encoding(doc.get("encoding"), Path(path)), svmlight_zero_based(doc))


def svmlight_zero_based(doc: dict) -> bool | None:
    """whether the svmlight data a model file's model was fitted on counted indices from 0 (None: other data)"""
    record = doc.get("svmlight")
    return None if record is None else record["zero_based"]


def read_encoding(data: dict | None, path: Path):
    """the encoding a model file keeps, rebuilt (None if it keeps none)"""
    if data is None:
        return None
    from .encoding import from_dict

    try:
        return from_dict(data)
    except (GradfitError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path}: field 'encoding': {exc}") from None

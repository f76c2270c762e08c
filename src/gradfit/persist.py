"""Model files: JSON with a versioned schema, written atomically. Never pickle.

A file holds the settings, coefficients, preprocessing, the exact solution and the
gap to it, training metrics, the history, and the centered Gram statistics of the
training data, so inference statistics can be computed later without the data.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import estimator as estimator_module
from .errors import ModelFileError
from .exact import ExactSolution, Gap
from .gram import GramStats
from .history import History
from .preprocess import Preprocessor

__all__ = ["FORMAT", "SCHEMA_VERSION", "save", "load_model", "atomic_write", "train_metrics", "jsonable"]

FORMAT = "gradfit-model"
SCHEMA_VERSION = 1
#: Gram statistics (d² numbers) are kept in the file up to this many features
GRAM_IN_FILE_MAX = 1000


def atomic_write(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` all at once: a temporary file in the same folder, then a rename.

    A reader sees the old file or the new one, never half of one; if writing fails,
    nothing is left behind.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def jsonable(value):
    """JSON-ready: NumPy values as Python ones, tuples as lists, non-finite floats as null"""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)  # e.g. a client object in engine_options: kept as its text


def train_metrics(model) -> dict:
    """R², MSE and RMSE on the training data, from the model's Gram statistics alone.

    The residual sum of squares is a sum of non-negative terms around the least-squares
    fit (see ``gradfit.stats.residual_ss``), so it stays accurate for a near-perfect fit.
    """
    from .stats import residual_ss

    stats = getattr(model, "gram_stats_", None)
    if stats is None:
        return {}
    rss = residual_ss(stats, np.asarray(model.coef_, dtype=np.float64), model.intercept_, rss=stats.rss_min)
    mse = rss / stats.n
    r2 = 1.0 - rss / stats.yty if stats.yty > 0 else float("nan")
    return {"n_rows": int(stats.n), "r2": r2, "mse": mse, "rmse": math.sqrt(mse)}


def _gram_to_dict(stats: GramStats | None) -> dict | None:
    if stats is None or len(stats.x_mean) > GRAM_IN_FILE_MAX:
        return None
    return {"n": stats.n, "x_mean": stats.x_mean, "y_mean": stats.y_mean,
            "xtx": stats.xtx, "xty": stats.xty, "yty": stats.yty, "rss_min": stats.rss_min}


def model_to_dict(model, include_history: bool = True) -> dict:
    """the document ``save`` writes"""
    names = getattr(model, "feature_names_in_", None)
    history = getattr(model, "history_", None)
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "gradfit_version": version("gradfit"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "params": model.get_params(),
        "coef": model.coef_,
        "intercept": model.intercept_,
        "feature_names": list(names) if names is not None else None,
        "preprocess": model.preprocessor_.to_dict(),
        "lr": model.lr_,
        "seed": model.seed_,
        "n_iter": model.n_iter_,
        "n_steps": model.t_,
        "converged": model.converged_,
        "metrics": train_metrics(model),
        "exact": model.exact_.to_dict() if model.exact_ is not None else None,
        "gap": model.gap_.to_dict() if model.gap_ is not None else None,
        "gram_stats": _gram_to_dict(getattr(model, "gram_stats_", None)),
        "history": history.to_dict() if include_history and history is not None else None,
    }
    return jsonable(doc)


def save(model, path, include_history: bool = True) -> None:
    """Write a fitted ``GDRegressor`` to a JSON model file.

    Parameters
    ----------
    model : GDRegressor
        A fitted model.
    path : str or Path
        Where to write; the file appears complete or not at all.
    include_history : bool, default=True
        Keep the history of the descent in the file.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from gradfit import GDRegressor, load_model
    >>> model = GDRegressor(lr="auto").fit(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0]))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.json"
    >>> save(model, path)
    >>> bool((load_model(path).predict([[3.0]]) == model.predict([[3.0]])).all())
    True
    """
    check_is_fitted(model)
    atomic_write(path, json.dumps(model_to_dict(model, include_history), indent=1, allow_nan=False))


# ---------------------------------------------------------------- reading


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_numbers(v) -> bool:
    return isinstance(v, list) and all(_is_number(x) for x in v)


def _is_names(v) -> bool:
    return v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v))


def _is_object(v) -> bool:
    return isinstance(v, dict)


def _is_object_or_null(v) -> bool:
    return v is None or isinstance(v, dict)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: field -> (check, what it must be); every one is required
SCHEMA = {
    "params": (_is_object, "an object of settings"),
    "coef": (_is_numbers, "a list of numbers"),
    "intercept": (_is_number, "a number"),
    "feature_names": (_is_names, "a list of strings or null"),
    "preprocess": (_is_object, "an object"),
    "lr": (lambda v: v is None or _is_number(v), "a number or null"),
    "seed": (_is_int, "an integer"),
    "n_iter": (_is_int, "an integer"),
    "n_steps": (_is_int, "an integer"),
    "converged": (lambda v: isinstance(v, bool), "true or false"),
    "metrics": (_is_object, "an object"),
    "exact": (_is_object_or_null, "an object or null"),
    "gap": (_is_object_or_null, "an object or null"),
    "gram_stats": (_is_object_or_null, "an object or null"),
    "history": (_is_object_or_null, "an object or null"),
}


def _read_document(path: Path) -> dict:
    """the parsed JSON object of a model file, format and version checked"""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"model file {path} is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFileError(f"model file {path}: field 'format' is {found!r}, not {FORMAT!r}")
    schema = doc.get("schema_version")
    if not _is_int(schema) or schema < 1:
        raise ModelFileError(f"model file {path}: field 'schema_version' must be a positive integer, not {schema!r}")
    if schema > SCHEMA_VERSION:
        raise ModelFileError(f"model file {path}: field 'schema_version' is {schema}, newer than this gradfit "
                             f"reads ({SCHEMA_VERSION}); upgrade gradfit")
    return doc


def _check_fields(doc: dict, path: Path) -> None:
    """every field present, of its type, and the sizes consistent"""
    for name, (ok, wanted) in SCHEMA.items():
        if name not in doc:
            raise ModelFileError(f"model file {path}: field {name!r} is missing")
        if not ok(doc[name]):
            raise ModelFileError(f"model file {path}: field {name!r} must be {wanted}")
    unknown = set(doc["params"]) - set(estimator_module.GDRegressor().get_params())
    if unknown:
        raise ModelFileError(f"model file {path}: field 'params' has unknown settings {sorted(unknown)}")
    d, names = len(doc["coef"]), doc["feature_names"]
    if names is not None and len(names) != d:
        raise ModelFileError(f"model file {path}: field 'coef' has {d} values but 'feature_names' "
                             f"names {len(names)} features")


def _restore(kind, data, field: str, path: Path):
    """build ``kind`` from a sub-document (None stays None); ModelFileError naming the field if it does not fit"""
    if data is None:
        return None
    try:
        return kind(data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"model file {path}: field {field!r} is malformed ({type(exc).__name__}: {exc})") from None


def _preprocessor(data: dict, d: int) -> Preprocessor:
    prep = Preprocessor.from_dict(data)
    if len(prep.x_shift) != d or len(prep.x_scale) != d:
        raise ValueError(f"it has {len(prep.x_shift)} shifts and {len(prep.x_scale)} scales for {d} features")
    return prep


def _gram_stats(data: dict, d: int) -> GramStats:
    stats = GramStats(int(data["n"]), np.asarray(data["x_mean"], dtype=np.float64), float(data["y_mean"]),
                      np.asarray(data["xtx"], dtype=np.float64), np.asarray(data["xty"], dtype=np.float64),
                      float(data["yty"]), _optional_float(data.get("rss_min")))
    if stats.x_mean.shape != (d,) or stats.xtx.shape != (d, d) or stats.xty.shape != (d,):
        raise ValueError(f"its shapes do not match {d} features")
    return stats


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _params(data: dict) -> dict:
    """settings as GDRegressor takes them (JSON lists back to tuples)"""
    params = dict(data)
    if isinstance(params.get("betas"), list):
        params["betas"] = tuple(params["betas"])
    if isinstance(params.get("init"), list):
        params["init"] = tuple(params["init"])
    return params


def load_model(path):
    """Read a model file written by ``save`` (or ``gradfit fit``) back into a fitted GDRegressor.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    GDRegressor
        Fitted: ``predict`` works, and ``history_``, ``exact_``, ``gap_`` and
        ``gram_stats_`` are restored (``result_`` is None; ``partial_fit`` starts afresh,
        from ``coef_`` when warm_start=True).

    Raises
    ------
    ModelFileError
        One line naming the file and the field: missing file, not JSON, another
        format, a newer schema version, a missing or ill-typed field, sizes that disagree.
    """
    path = Path(path)
    doc = _read_document(path)
    _check_fields(doc, path)
    d = len(doc["coef"])
    model = estimator_module.GDRegressor(**_params(doc["params"]))
    model.coef_ = np.asarray(doc["coef"], dtype=np.float64)
    model.intercept_ = float(doc["intercept"])
    model.n_features_in_ = d
    if doc["feature_names"] is not None:
        model.feature_names_in_ = np.asarray(doc["feature_names"], dtype=object)
    model.preprocessor_ = _restore(lambda p: _preprocessor(p, d), doc["preprocess"], "preprocess", path)
    model.lr_ = float("nan") if doc["lr"] is None else float(doc["lr"])
    model.seed_, model.n_iter_, model.t_ = doc["seed"], doc["n_iter"], doc["n_steps"]
    model.converged_ = doc["converged"]
    model.exact_ = _restore(lambda e: ExactSolution(**e), doc["exact"], "exact", path)
    model.gap_ = _restore(lambda g: Gap(**g), doc["gap"], "gap", path)
    model.gram_stats_ = _restore(lambda s: _gram_stats(s, d), doc["gram_stats"], "gram_stats", path)
    model.history_ = _restore(History.from_dict, doc["history"], "history", path)
    model.result_ = None
    return model

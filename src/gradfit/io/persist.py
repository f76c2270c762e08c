"""Model files: JSON with a versioned schema, written atomically. Never pickle.

A file holds the settings, coefficients, preprocessing, the exact solution and the
gap to it, training metrics, the history, and the centered Gram statistics of the
training data, so inference statistics can be computed later without the data.
"""

from __future__ import annotations

import json
import math
import numbers
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..descent.preprocess import Preprocessor
from ..descent.weights import WeightInfo
from ..errors import ModelFileError
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats
from ..training.checkpoint import checkpoint_from_dict, descent_to_dict, resume_point
from ..training.history import History
from ..training.state import Steps
from ..training.validation import HeldOutResult
from ..training.verdict import Verdict
from . import outputs
from .model_reader import read_encoding, read_model_document, svmlight_zero_based
from .model_schema import FORMAT, SCHEMA_VERSION

__all__ = ["FORMAT", "SCHEMA_VERSION", "save", "load", "atomic_write", "train_metrics", "jsonable"]

#: Gram statistics (d² numbers) are kept in the file up to this many features
GRAM_IN_FILE_MAX = 1000
#: history entries a model file keeps (spread over the run; the whole history goes to --history FILE)
HISTORY_IN_FILE = 2000


def atomic_write(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` all at once (see ``gradfit.io.outputs.write``).

    A reader sees the old file or the new one, never half of one; if writing fails,
    nothing is left behind. Links are followed, devices and ``-`` (standard output)
    are written directly, and inside ``gradfit.io.outputs.transaction`` the write is
    taken back if the command fails.
    """
    outputs.write(path, data)


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
    fit (see ``gradfit.inference.rss.residual_ss``), so it stays accurate for a near-perfect fit.
    """
    from ..inference.rss import residual_ss

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
    doc = {"n": stats.n, "x_mean": stats.x_mean, "y_mean": stats.y_mean,
           "xtx": stats.xtx, "xty": stats.xty, "yty": stats.yty, "rss_min": stats.rss_min}
    if stats.weights is not None:  # the weights' totals (for the WLS summary), never the weights
        doc["weights"] = stats.weights._asdict()  # log_sum −inf (a weight of 0) is written as null
    return doc


def _descent(model) -> dict | None:
    point = resume_point(model)
    return None if point is None else descent_to_dict(point, model.optimizer)


def _steps_to_dict(model) -> dict | None:
    """the step rule the fit ran with: lr, momentum and schedule after 'auto', and its epochs"""
    steps = getattr(resume_point(model), "steps", None)
    if steps is None and hasattr(model, "momentum_"):
        steps = Steps(model.lr_, model.momentum_, model.schedule_, model.n_iter_)
    return None if steps is None else steps._asdict()


def _history_to_dict(history: History | None, include: bool | str) -> dict | None:
    """the history kept in the file: at most HISTORY_IN_FILE entries spread over the run ("full": all)"""
    if not include or history is None:
        return None
    return (history if include == "full" else history.thinned(HISTORY_IN_FILE)).to_dict()


def _held_out_to_dict(model) -> dict | None:
    """the best epoch on held-out data and the last parameters (None for a fit without held-out data)"""
    held = getattr(model, "held_out_", None)
    return None if held is None else held.to_dict()


def _encoding_to_dict(model) -> dict | None:
    encoding = getattr(model, "encoding_", None)
    return None if encoding is None else encoding.to_dict()


def _svmlight_to_dict(model) -> dict | None:
    zero_based = getattr(model, "svmlight_zero_based_", None)
    return None if zero_based is None else {"zero_based": bool(zero_based)}


def model_to_dict(model, include_history: bool | str = True) -> dict:
    """the document ``save`` writes"""
    names = getattr(model, "feature_names_in_", None)
    history = getattr(model, "history_", None)
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "gradfit_version": version("gradfit"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # where to connect (engine_options) is never written, nor what runs during a fit (callbacks)
        "params": {**{k: v for k, v in model.get_params().items() if k != "callbacks"}, "engine_options": None},
        "coef": model.coef_,
        "intercept": model.intercept_,
        "feature_names": list(names) if names is not None else None,
        "encoding": _encoding_to_dict(model),
        "svmlight": _svmlight_to_dict(model),
        "preprocess": model.preprocessor_.to_dict(),
        "lr": model.lr_,
        "seed": model.seed_,
        "n_iter": model.n_iter_,
        "n_steps": model.t_,
        "converged": model.converged_,
        "verdict": model.verdict_.to_dict() if getattr(model, "verdict_", None) is not None else None,
        "steps": _steps_to_dict(model),
        "metrics": train_metrics(model),
        "exact": model.exact_.to_dict() if model.exact_ is not None else None,
        "gap": model.gap_.to_dict() if model.gap_ is not None else None,
        "gram_stats": _gram_to_dict(getattr(model, "gram_stats_", None)),
        "weighted": bool(getattr(model, "weighted_", False)),
        "history": _history_to_dict(history, include_history),
        "descent": _descent(model) if include_history else None,
        "held_out": _held_out_to_dict(model),
    }
    return jsonable(doc)


def save(model, path, include_history: bool | str = True) -> None:
    """Write a fitted ``GDRegressor`` to a JSON model file.

    Parameters
    ----------
    model : GDRegressor
        A fitted model.
    path : str or Path
        Where to write; the file appears complete or not at all.
    include_history : bool or "full", default=True
        Keep the history of the descent in the file: True keeps at most ``HISTORY_IN_FILE``
        entries spread evenly over the run (the first and last among them), so the file stays
        small however long the fit; "full" keeps every entry; False none (the file then cannot
        be resumed). ``history_.to_csv(path)`` (CLI ``--history FILE``) writes the whole history.

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


def _restore(kind, data, field: str, path: Path):
    """build ``kind`` from a checked sub-document (None stays None); ModelFileError naming the field if it does not fit"""
    if data is None:
        return None
    try:
        return kind(data)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ModelFileError(f"model file {path}: field {field!r} is malformed ({type(exc).__name__}: {exc})") from None


def _float(value) -> float:
    """a number of the file (null stands for a value that was not finite)"""
    return float("nan") if value is None else float(value)


def _gram_stats(data: dict) -> GramStats:
    weights = data.get("weights")
    return GramStats(int(data["n"]), np.asarray(data["x_mean"], dtype=np.float64), float(data["y_mean"]),
                     np.asarray(data["xtx"], dtype=np.float64), np.asarray(data["xty"], dtype=np.float64),
                     float(data["yty"]), None if data.get("rss_min") is None else float(data["rss_min"]),
                     None if weights is None else WeightInfo(float(weights["total"]), float(weights["mean"]),
                                                             -math.inf if weights["log_sum"] is None
                                                             else float(weights["log_sum"])))


def _exact(data: dict) -> ExactSolution:
    factor = data.get("factor")
    return ExactSolution(list(data["theta"]), list(data["coef"]), float(data["intercept"]),
                         _float(data["objective"]), data["method"], _float(data["condition"]),
                         _maybe_float(data.get("digits")), data.get("rank"), _maybe_float(data.get("rss")),
                         [list(row) for row in factor] if factor is not None else None)


def _maybe_float(value) -> float | None:
    return None if value is None else float(value)


def _gap(data: dict) -> Gap:
    return Gap(*(_float(data[k]) for k in ("param_distance", "objective_gap", "objective", "exact_objective")),
               _float(data.get("fitted_distance")), bool(data.get("identified", True)))


def _verdict(data: dict) -> Verdict:
    return Verdict(bool(data["converged"]), data["reason"], data["message"], data["remedy"], float(data["tol"]),
                   _maybe_float(data["distance"]), data.get("epochs_needed"))


def _steps(doc: dict, model) -> Steps:
    """the step rule the fit ran with (files written before it was kept: from the settings)"""
    if doc.get("steps") is not None:
        kept = doc["steps"]
        return Steps(_float(kept["lr"]), float(kept["momentum"]), kept["schedule"], int(kept["epochs"]))
    momentum = model.momentum if model.momentum != "auto" else 0.0
    schedule = model.schedule if model.schedule != "auto" else "constant"
    epochs = model.epochs if model.epochs != "auto" else model.n_iter_
    return Steps(model.lr_, float(momentum), schedule, int(epochs))


def _history(data: dict) -> History:
    data = dict(data)
    for name in ("loss", "grad_norm", "lr"):
        data[name] = [_float(v) for v in data[name]]
    if "val_loss" in data:
        data["val_loss"] = [_float(v) for v in data["val_loss"]]
    return History.from_dict(data)


def load(path, estimator_class):
    """a fitted ``estimator_class`` (``GDRegressor``) from a model file; see ``gradfit.estimator.load_model``"""
    path = Path(path)
    doc = read_model_document(path)
    d = len(doc["coef"])
    model = estimator_class(**doc["params"])
    model.coef_ = np.asarray(doc["coef"], dtype=np.float64)
    model.intercept_ = float(doc["intercept"])
    model.n_features_in_ = d
    if doc["feature_names"] is not None:
        model.feature_names_in_ = np.asarray(doc["feature_names"], dtype=object)
    model.preprocessor_ = _restore(Preprocessor.from_dict, doc["preprocess"], "preprocess", path)
    model.lr_ = _float(doc["lr"])
    model.seed_, model.n_iter_, model.t_ = doc["seed"], doc["n_iter"], doc["n_steps"]
    model.converged_ = doc["converged"]
    model.verdict_ = _restore(_verdict, doc.get("verdict"), "verdict", path)
    steps = _restore(lambda _: _steps(doc, model), doc, "steps", path)
    model.momentum_, model.schedule_ = steps.momentum, steps.schedule
    model.exact_ = _restore(_exact, doc["exact"], "exact", path)
    model.gap_ = _restore(_gap, doc["gap"], "gap", path)
    model.gram_stats_ = _restore(_gram_stats, doc["gram_stats"], "gram_stats", path)
    model.weighted_ = bool(doc.get("weighted", False))
    model.history_ = _restore(_history, doc["history"], "history", path)
    model.encoding_ = read_encoding(doc.get("encoding"), path)
    model.svmlight_zero_based_ = svmlight_zero_based(doc)
    model.result_ = None
    model._store_held_out(_restore(HeldOutResult.from_dict, doc.get("held_out"), "held_out", path))
    model.checkpoint_ = _restore(
        lambda descent: checkpoint_from_dict(descent, model.preprocessor_, steps, model.seed_, model.history_),
        doc.get("descent"), "descent", path)
    return model

"""What the plots need from a fit, whatever shape it comes in, and the objective over a grid.

The plots, animations and report accept a fitted ``GDRegressor``, a ``FitResult``
or a bare ``History``; :func:`view` turns each into one :class:`FitView`.
:class:`Objective` evaluates the training objective for many (coef, intercept)
pairs at once, in the units of the data, from the Gram statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..descent.losses import loss_from
from ..descent.model import LinearModel
from ..descent.preprocess import Preprocessor
from ..errors import DataError, OptionError
from ..inference.rss import least_squares_rss
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats, block_stats, rss_around
from ..training.history import History
from ..training.result import FitResult
from ..training.validation import HeldOutResult
from .plottext import tr


@dataclass
class FitView:
    """one fit as the plots see it: history, final parameters, exact answer (original units)"""

    history: History
    model: LinearModel
    prep: Preprocessor
    exact: ExactSolution | None = None
    gap: Gap | None = None
    stats: GramStats | None = None
    settings: dict = field(default_factory=dict)
    converged: bool | None = None
    #: what held-out rows decided (the best epoch; whether the fit returned it); None without them
    held_out: HeldOutResult | None = None

    @property
    def coef(self) -> np.ndarray:
        """the coefficients the fit returned: the best epoch's under early stopping, else the last entry's"""
        kept = self._kept()
        return np.asarray(kept.coef if kept is not None else self.history.coef[-1], dtype=np.float64)

    @property
    def intercept(self) -> float:
        kept = self._kept()
        return float(kept.intercept if kept is not None else self.history.intercept[-1])

    def _kept(self):
        """the best epoch on held-out data, when the fit returned its parameters"""
        return self.held_out.best if self.held_out is not None and self.held_out.restored else None

    @property
    def feature_names(self) -> list[str]:
        return self.history._coef_names()

    @property
    def n_params(self) -> int:
        return self.model.n_params

    @property
    def label(self) -> str:
        """a short legend label from the settings that people usually compare"""
        s = self.settings
        if not s:
            return "fit"
        lr = s.get("lr")
        lr_text = f"lr={lr:.3g}" if isinstance(lr, (int, float)) else f"lr={lr}"
        return f"{s.get('optimizer', 'sgd')}, {lr_text}, {batch_words(s.get('batch_size'))}"

    def path(self) -> tuple[np.ndarray, np.ndarray]:
        """(coefs (k, d), intercepts (k,)) of every history entry"""
        coefs = np.asarray(self.history.coef, dtype=np.float64).reshape(len(self.history), -1)
        return coefs, np.asarray(self.history.intercept, dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef + self.intercept


def batch_words(batch_size) -> str:
    """'full batch', 'per sample' or 'batch k'"""
    if batch_size is None:
        return tr("full batch")
    return tr("per sample") if batch_size == 1 else tr("batch {size}", size=batch_size)


def fractional_epochs(history: History) -> np.ndarray:
    """each entry's place in epochs: step / steps per epoch when steps were recorded within epochs

    An entry recorded after the last step of epoch e carries epoch e + 1 and step
    (e + 1)·k for k steps an epoch, so the first such entry tells k.
    """
    epochs = np.asarray(history.epoch, dtype=np.float64)
    steps = np.asarray(history.step, dtype=np.float64)
    if len(epochs) < 2 or np.all(np.diff(epochs) > 0):
        return epochs
    later = epochs > epochs[0]
    if not later.any():  # within one epoch: its length is unknown
        return epochs
    boundary = np.argmax(later)  # the first entry of a later epoch: the end of an epoch
    per_epoch = (steps[boundary] - steps[0]) / (epochs[boundary] - epochs[0])
    return epochs[0] + (steps - steps[0]) / per_epoch


def view(obj: Any) -> FitView:
    """a :class:`FitView` of a fitted GDRegressor, a FitResult, a History or a FitView"""
    if isinstance(obj, FitView):
        return obj
    if isinstance(obj, FitResult):
        return _from_result(obj)
    if isinstance(obj, History):
        return _from_history(obj)
    if hasattr(obj, "get_params"):
        return _from_estimator(obj)
    raise OptionError(f"cannot plot a {type(obj).__name__}; pass a fitted GDRegressor, a FitResult or a History")


def _from_result(result: FitResult) -> FitView:
    settings = {**result.config.to_dict(), "lr": result.lr, "seed": result.seed}
    return FitView(result.history, result.model, result.prep, result.exact, result.gap, result.stats, settings,
                   result.converged, result.held_out)


def _from_estimator(est) -> FitView:
    """a fitted estimator: its FitResult when it has one, else its fitted attributes"""
    if not hasattr(est, "coef_"):
        raise OptionError(f"this {type(est).__name__} is not fitted yet; call fit(X, y) first")
    history = getattr(est, "history_", None)
    if history is None or not len(history):
        raise OptionError("this model holds no history (it was saved with include_history=False); "
                          "there is no descent to plot")
    result = getattr(est, "result_", None)
    if result is not None:
        return _from_result(result)
    params = est.get_params()
    d = len(history.coef[-1])
    model = LinearModel(d, params.get("fit_intercept", True), loss_from(params),
                        float(params.get("alpha", 0.0)), float(params.get("l1_ratio", 0.0)))
    prep = getattr(est, "preprocessor_", None) or Preprocessor.identity(d)
    settings = {**params, "lr": getattr(est, "lr_", params.get("lr")), "seed": getattr(est, "seed_", None)}
    return FitView(history, model, prep, getattr(est, "exact_", None), getattr(est, "gap_", None),
                   getattr(est, "gram_stats_", None), settings, getattr(est, "converged_", None),
                   getattr(est, "held_out_", None))


def _from_history(history: History) -> FitView:
    """a bare history: mean squared error, no penalty; an intercept if any entry has one"""
    if not len(history):
        raise OptionError("the history is empty; there is nothing to plot")
    d = len(history.coef[-1])
    fit_intercept = any(b != 0.0 for b in history.intercept)
    return FitView(history, LinearModel(d, fit_intercept), Preprocessor.identity(d))


def as_arrays(X, y, n_features: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """X as a float (n, d) array and y as a float (n,) array, checked against each other and the fit"""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise DataError(f"X has shape {X.shape} but y has {y.shape[0]} values; they need one row per value")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"X has {X.shape[1]} columns but the model was fitted on {n_features} features")
    return X, y


@dataclass
class Objective:
    """the training objective of many (coef, intercept) pairs at once, in original units

    A quadratic loss is evaluated from Gram statistics; any other loss from the data (X, y).
    """

    model: LinearModel
    prep: Preprocessor
    stats: GramStats | None
    data: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, fv: FitView, X=None, y=None) -> "Objective":
        """from the data when given, else from the fit's own Gram statistics"""
        if X is not None and y is not None:
            X, y = as_arrays(X, y, fv.model.n_features)
            return cls(fv.model, fv.prep, block_stats(X, y), (X, y))
        if not fv.model.loss.is_quadratic:
            raise OptionError(f"this plot needs the data (X, y): the loss {fv.model.loss.name!r} is not "
                              f"a function of Gram statistics")
        if fv.stats is None:
            raise OptionError("this plot needs the data (X, y): the fit carries no Gram statistics")
        return cls(fv.model, fv.prep, fv.stats)

    def __call__(self, coef, intercept) -> np.ndarray:
        """objective values, shape (k,), of coef (k, d) and intercept (k,)"""
        coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
        intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
        if not self.model.fit_intercept:
            intercept = np.zeros_like(intercept)
        data = self._quadratic(coef, intercept) if self.model.loss.is_quadratic else self._rows(coef, intercept)
        return data + self._penalty(coef)

    def _quadratic(self, coef, intercept) -> np.ndarray:
        """(c/2)·mean r² from the Gram statistics: the centered sum of squares plus the offset's square"""
        s = self.stats
        w_star, rss_star = least_squares_rss(s)  # around the optimum: a sum of non-negative terms, no cancelling
        dw = coef - w_star
        rss = s.rss_min if s.rss_min is not None else rss_star
        offset = s.y_mean - coef @ s.x_mean - intercept
        return 0.5 * self.model.loss.c * rss_around(dw, offset, rss, s.n, gram=s.xtx) / s.n

    def _rows(self, coef, intercept) -> np.ndarray:
        """the mean loss over the data's rows, a few points at a time"""
        X, y = self.data
        loss, out = self.model.loss, np.empty(coef.shape[0])
        chunk = max(1, 4_000_000 // max(len(y), 1))
        for start in range(0, coef.shape[0], chunk):
            r = X @ coef[start : start + chunk].T + intercept[start : start + chunk] - y[:, None]
            out[start : start + chunk] = loss.value(r, loss.params).mean(axis=0)
        return out

    def _penalty(self, coef: np.ndarray) -> np.ndarray:
        """the penalty acts on the descent's coefficients (scaled by the preprocessing)"""
        if self.model.alpha == 0.0:
            return np.zeros(coef.shape[0])
        w = coef * np.asarray(self.prep.x_scale, dtype=np.float64)
        return 0.5 * self.model.l2 * (w**2).sum(axis=1) + self.model.l1 * np.abs(w).sum(axis=1)

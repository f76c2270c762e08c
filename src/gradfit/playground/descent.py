"""A playground run: GDRegressor's own history, cut and continued where the learner changes the learning rate.

Every number the playground shows comes from ``GDRegressor.fit(...).history_`` with
``record_every="step"``. Changing the learning rate mid-run either restarts (same
seed, same start) or continues: the run is cut at the step on screen and a second
fit starts from those parameters (``init=`` in the descent's units) with the new
rate, for the epochs that are left. The optimizer's state (momentum, Adam's
moments) starts afresh there, as it does for any fit started from ``init``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..descent.batching import n_batches
from ..estimator import GDRegressor
from .data import PlayData

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
LOSSES = ("mse", "half_mse")
PREPROCESS = ("none", "center", "standardize")


@dataclass(frozen=True)
class Settings:
    """what the learner chose; every setting is passed to GDRegressor explicitly"""

    fit_intercept: bool = True
    loss: str = "mse"
    optimizer: str = "sgd"
    lr: Any = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.99
    eps: float = 1e-8
    batch_size: int | None = None
    epochs: int = 30
    preprocess: str = "none"
    seed: int = 0

    def params(self, init: Any = "zeros", epochs: int | None = None, lr: Any = None) -> dict:
        """GDRegressor's keyword arguments for this run (or one segment of it)"""
        return dict(
            fit_intercept=self.fit_intercept, loss=self.loss, alpha=0.0, optimizer=self.optimizer,
            lr=self.lr if lr is None else lr, momentum=self.momentum if self.optimizer == "sgd" else 0.0,
            nesterov=self.nesterov and self.optimizer == "sgd" and self.momentum > 0,
            betas=(self.beta1, self.beta2), eps=self.eps, rho=self.rho, schedule="constant",
            epochs=self.epochs if epochs is None else epochs, batch_size=self.batch_size, shuffle=True,
            preprocess=self.preprocess, init=init, tol=None, engine="numpy", dtype="float64", seed=self.seed,
            record_every="step",
        )

    @property
    def label(self) -> str:
        """a short name for legends: the optimizer and what sets it apart"""
        extra = {"sgd": f", momentum {self.momentum:g}" + (" (Nesterov)" if self.nesterov else "")
                 if self.momentum else "", "adam": f", β=({self.beta1:g}, {self.beta2:g})",
                 "rmsprop": f", ρ={self.rho:g}", "adagrad": ""}[self.optimizer]
        lr = self.lr if isinstance(self.lr, str) else f"{self.lr:.3g}"
        return f"{self.optimizer}{extra}, lr={lr}"


@dataclass
class Segment:
    """one GDRegressor fit of a run, and how many of its history entries the run keeps"""

    model: GDRegressor
    init: Any
    epochs: int
    lr: Any
    keep: int

    @property
    def theta(self) -> np.ndarray:
        """every kept entry's [coef..., intercept] in the data's units, shape (keep, d + 1)"""
        history = self.model.history_
        coef = np.asarray(history.coef[: self.keep], dtype=np.float64).reshape(self.keep, -1)
        return np.column_stack([coef, history.intercept[: self.keep]])


def fit_segment(data: PlayData, settings: Settings, init: Any = "zeros", epochs: int | None = None,
                lr: Any = None) -> Segment:
    """one fit by GDRegressor, every step recorded"""
    params = settings.params(init, epochs, lr)
    model = GDRegressor(**params).fit(data.X, data.y)
    return Segment(model, init, params["epochs"], params["lr"], len(model.history_))


@dataclass
class Run:
    """a descent on screen: one fit, or a fit cut at a step and continued with another learning rate"""

    data: PlayData
    settings: Settings
    segments: list[Segment] = field(default_factory=list)
    _columns: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def start(cls, data: PlayData, settings: Settings) -> "Run":
        return cls(data, settings, [fit_segment(data, settings)])

    @property
    def steps_per_epoch(self) -> int:
        return n_batches(len(self.data.y), self.settings.batch_size)

    def __len__(self) -> int:
        """entries on screen: the start and one per step"""
        return 1 + sum(s.keep - 1 for s in self.segments)

    def locate(self, k: int) -> tuple[int, int]:
        """(segment, entry within it) of the run's entry k (an entry shared by two segments: the later one)"""
        for index, segment in enumerate(self.segments):
            if k < segment.keep or index == len(self.segments) - 1:
                return index, k
            k -= segment.keep - 1
        raise IndexError(k)

    def column(self, name: str) -> np.ndarray:
        """one history column over the whole run (steps counted on from segment to segment)"""
        if name not in self._columns:  # a run is never changed once made (change_lr makes a new one)
            self._columns[name] = self._column(name)
        return self._columns[name]

    def _column(self, name: str) -> np.ndarray:
        parts = []
        offset = 0
        for index, segment in enumerate(self.segments):
            values = np.asarray(getattr(segment.model.history_, name)[: segment.keep], dtype=np.float64)
            if name == "step":
                values = values + offset
                offset = values[-1]
            parts.append(values if index == 0 else values[1:])
        return np.concatenate(parts)

    @property
    def theta(self) -> np.ndarray:
        """[coef..., intercept] of every entry, shape (len, d + 1), in the data's units"""
        if "theta" not in self._columns:
            self._columns["theta"] = np.vstack([s.theta if i == 0 else s.theta[1:] for i, s in enumerate(self.segments)])
        return self._columns["theta"]

    @property
    def epochs(self) -> np.ndarray:
        """each entry's place in epochs (fractional within an epoch)"""
        return self.column("step") / self.steps_per_epoch

    def exact(self):
        """the exact least-squares answer of the first fit (the same data and objective throughout)"""
        return self.segments[0].model.exact_

    def change_lr(self, lr: Any, at: int, mode: str) -> "Run":
        """a new run with learning rate ``lr``: restarted from the start, or continued from entry ``at``"""
        settings = replace(self.settings, lr=lr)
        if mode == "restart":
            return Run.start(self.data, settings)
        index, local = self.locate(at)
        kept = [replace(s) for s in self.segments[: index + 1]]
        kept[-1].keep = local + 1
        model = kept[-1].model
        coef = model.history_.coef[local]
        init = tuple(_split(model.preprocessor_.to_transformed(coef, model.history_.intercept[local],
                                                                model.result_.model), model.fit_intercept))
        done = int(np.floor(self.epochs[at] + 1e-9))
        left = max(1, settings.epochs - done)
        return Run(self.data, settings, [*kept, fit_segment(self.data, settings, init, left)])


def _split(theta: list[float], fit_intercept: bool) -> tuple[list[float], float]:
    """(coef, intercept) in the descent's units, as GDRegressor's init takes them"""
    return (theta[:-1], theta[-1]) if fit_intercept else (theta, 0.0)


def race(data: PlayData, entries: list[Settings]) -> list[Run]:
    """several settings on the same data, from the same start, with the same seed"""
    return [Run.start(data, settings) for settings in entries]


__all__ = ["OPTIMIZERS", "LOSSES", "PREPROCESS", "Settings", "Segment", "Run", "fit_segment", "race"]

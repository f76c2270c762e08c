"""What a fit produced (``FitResult``): a plain record, so that what reads it (the estimator, plots,
reports, model files) needs nothing of the machinery that made it (``gradfit.training.solver``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..descent.curvature import Curvature
from ..descent.model import LinearModel
from ..descent.preprocess import Preprocessor
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats
from .config import FitConfig
from .history import History
from .state import Outcome, Steps, TrainState
from .validation import HeldOutResult
from .verdict import Verdict


@dataclass
class FitResult:
    """everything a fit produced; the estimator copies it into its ``*_`` attributes"""

    coef: list[float]
    intercept: float
    history: History
    outcome: Outcome
    lr: float
    seed: int
    model: LinearModel
    prep: Preprocessor
    config: FitConfig
    exact: ExactSolution | None
    gap: Gap | None
    stats: GramStats | None
    used_gram: bool
    steps: Steps
    verdict: Verdict
    curvature: Curvature | None = None
    #: whether the fit was weighted (``sample_weight``)
    weighted: bool = False
    extras: dict = field(default_factory=dict)
    #: the best epoch on held-out data and the last parameters (None without held-out data); with early
    #: stopping ``coef`` and ``intercept`` are the best epoch's
    held_out: HeldOutResult | None = None

    @property
    def state(self) -> TrainState:
        return self.outcome.state

    @property
    def n_iter(self) -> int:
        return self.outcome.state.epoch

    @property
    def converged(self) -> bool:
        """whether the fit ended at the optimum, to tol (see ``verdict``)"""
        return self.verdict.converged
